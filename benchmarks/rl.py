"""Reinforcement learning beside Stable-Baselines3: return, wall time, steps per second.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.rl --algo dqn --env CartPole-v1 --seeds 0,1,2
    python -m benchmarks.rl --algo ppo --env CartPole-v1 --seeds 0 --write
    python -m benchmarks.rl --algo dqn --env MinAtar/Breakout-v1 --steps 100000 --out FILE
    python -m benchmarks.rl --algo reinforce --seeds 0,1,2,3,4 --libraries visiongrad --write
    python -m benchmarks.rl --merge SEED0.json SEED1.json --write

For each seed, trains visiongrad's agent (``visiongrad.recipes.rl``, rl-baselines3-zoo's
hyperparameters where the zoo has them: :data:`visiongrad.recipes.rl.PRESETS`) and then
Stable-Baselines3's with the same hyperparameters and network, one after the other in
this process (PyTorch on one thread, as NumPy's BLAS here), and scores each greedy policy
on the same 100 evaluation episodes (episode i reset with seed 10,000 + i). Prints, per
library and seed, the mean return, the training wall time and environment steps per
second, and the ratio of visiongrad's time per step to Stable-Baselines3's (medians over
seeds), and records the load average before and after each library's run. Writes
``benchmarks/results/rl_<algo>_<env>.json`` (with both libraries' return curves) only with
``--write``, or to ``--out FILE``. ``--merge FILE...`` joins result files of one agent,
environment and step budget (say, one seed each, run one after the other) into one.
``--plot RESULT.json --figure OUT.png`` draws the two libraries' learning curves of a
written result (no training).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np  # before visiongrad and torch, as in every benchmark here

RESULTS = Path(__file__).parent / "results"
EVALUATION_SEED = 10_000


def _log(message: str) -> None:
    print(message, flush=True)


def run_visiongrad(algo: str, env: str, steps: int, seed: int, episodes: int) -> dict:
    from visiongrad.recipes import rl as recipe

    config = recipe.Config(env=env, algo=algo, steps=steps, seed=seed)
    start = time.perf_counter()
    agent, _ = recipe.run(config)
    seconds = time.perf_counter() - start
    returns = agent.evaluate(episodes, seed=EVALUATION_SEED)
    return _result(returns, seconds, agent.steps, agent.episode_ends, agent.episode_returns)


def _result(returns, seconds, steps, ends, episode_returns) -> dict:
    return {"return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)),
            "train_seconds": seconds, "steps": int(steps),
            "steps_per_second": steps / seconds,
            "curve": {"ends": [int(e) for e in ends],
                      "returns": [float(r) for r in episode_returns]}}


def sb3_arguments(algo: str, env: str, steps: int) -> tuple[str, dict, int]:
    """(class name, keyword arguments, n_envs) of Stable-Baselines3 for the same preset."""
    from visiongrad.recipes import rl as recipe

    config = recipe.Config(env=env, algo=algo, steps=steps)
    preset = {**config.preset()}
    preset.pop("steps", None)
    n_envs = preset.pop("n_envs", 8 if algo in ("a2c",) else 1)
    hidden = list(preset.pop("hidden", (64, 64)))
    lr = preset.pop("lr", None)
    arguments = {"policy_kwargs": {"net_arch": hidden}}
    if env.startswith("MinAtar/"):
        arguments["policy_kwargs"] = {"features_extractor_class": MinAtarExtractor(),
                                      "features_extractor_kwargs": {"hidden": hidden[-1]},
                                      "net_arch": []}
    anneal = preset.pop("anneal", False)
    if lr is not None:
        arguments["learning_rate"] = (lambda p, lr=lr: lr * p) if anneal else lr
    if "clip_range" in preset and anneal:
        clip = preset.pop("clip_range")
        arguments["clip_range"] = lambda p, clip=clip: clip * p
    arguments.update(preset)
    if algo in ("ppo", "a2c") and not env.startswith("MinAtar/"):
        arguments["policy_kwargs"] = {"net_arch": {"pi": hidden, "vf": hidden}}
    return algo.upper(), arguments, n_envs


def MinAtarExtractor():  # noqa: N802 - builds a torch class only when SB3 is asked for
    """visiongrad's MinAtar torso in PyTorch, as a Stable-Baselines3 features extractor."""
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class Extractor(BaseFeaturesExtractor):
        def __init__(self, observation_space, hidden: int = 128):
            super().__init__(observation_space, hidden)
            channels, height, width = observation_space.shape
            self.layers = torch.nn.Sequential(
                torch.nn.Conv2d(channels, 16, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                torch.nn.Linear(16 * (height - 2) * (width - 2), hidden), torch.nn.ReLU())

        def forward(self, observations):
            return self.layers(observations)

    return Extractor


def run_sb3(algo: str, env: str, steps: int, seed: int, episodes: int) -> dict:
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from visiongrad.rl.envs import make_env

    torch.set_num_threads(1)
    name, arguments, n_envs = sb3_arguments(algo, env, steps)
    curve = {"ends": [], "returns": []}

    class Curve(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    curve["ends"].append(self.num_timesteps)
                    curve["returns"].append(float(info["episode"]["r"]))
            return True

    vec_env = make_vec_env(lambda: make_env(env), n_envs=n_envs, seed=seed)
    model = getattr(sb3, name)("MlpPolicy", vec_env, seed=seed, device="cpu", verbose=0,
                               **arguments)
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=Curve())
    seconds = time.perf_counter() - start
    evaluation = make_env(env)
    returns = np.zeros(episodes)
    for episode in range(episodes):
        observation, _ = evaluation.reset(seed=EVALUATION_SEED + episode)
        done = False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = evaluation.step(int(action))
            returns[episode] += reward
            done = terminated or truncated
    return _result(returns, seconds, model.num_timesteps, curve["ends"], curve["returns"])


def mean_curve(curves: list[dict], grid: np.ndarray) -> np.ndarray:
    """The mean over runs of each run's smoothed return curve, read at the steps ``grid``
    (linear between episode ends; NaN before a run's first episode or after its last)."""
    from visiongrad.train.plots import smooth

    values = np.array([np.interp(grid, curve["ends"], smooth(curve["returns"], 0.95),
                                 left=np.nan, right=np.nan) for curve in curves])
    counted = np.isfinite(values).sum(axis=0)
    return np.where(counted == len(curves),
                    np.nansum(values, axis=0) / np.maximum(counted, 1), np.nan)


def plot_curves(result_path: str, figure_path: str) -> None:
    """Each library's smoothed training return against environment steps: every seed thin,
    and, with more than two seeds, the mean over seeds bold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from visiongrad.train.plots import smooth

    results = json.loads(Path(result_path).read_text())
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    many = len(results["runs"]) > 2
    for library, color in (("visiongrad", "tab:blue"), ("sb3", "tab:orange")):
        seeds = [(run["seed"], run[library]["curve"]) for run in results["runs"]
                 if library in run and run[library]["curve"]["returns"]]
        curves = [curve for _, curve in seeds]
        for number, (seed, curve) in enumerate(seeds):
            axes.plot(curve["ends"], smooth(curve["returns"], 0.95), color=color,
                      linewidth=0.8 if many else 1.5, alpha=0.35 if many else 1.0,
                      linestyle="-" if many else ("-", "--", ":", "-.")[number % 4],
                      label=None if many else f"{library} seed {seed}")
        if many and curves:
            grid = np.linspace(0, results["steps"], 300)
            axes.plot(grid, mean_curve(curves, grid), color=color, linewidth=2.5,
                      label=f"{library}, mean of {len(curves)} seeds")
    axes.set_xlabel("environment step")
    axes.set_ylabel("training episode return (smoothed)")
    axes.set_title(f"{results['algo'].upper()} on {results['env']}")
    axes.legend()
    figure.savefig(figure_path, bbox_inches="tight")
    _log(f"wrote {figure_path}")


def to_json(value, level: int = 0) -> str:
    """JSON with each list of numbers (a return curve) on one line, dicts indented."""
    pad, inner = " " * level, " " * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(key))}: {to_json(item, level + 1)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        return "[\n" + ",\n".join(f"{inner}{to_json(item, level + 1)}" for item in value) \
            + f"\n{pad}]"
    return json.dumps(value, default=str)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algo", default="dqn", choices=("dqn", "ppo", "a2c", "reinforce"))
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--steps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--episodes", type=int, default=100, help="evaluation episodes")
    parser.add_argument("--libraries", default="visiongrad,sb3")
    parser.add_argument("--write", action="store_true",
                        help="write benchmarks/results/rl_<algo>_<env>.json")
    parser.add_argument("--out", default=None, help="write the results to this JSON file")
    parser.add_argument("--plot", default=None, metavar="RESULT.json",
                        help="draw this result's curves (with --figure) instead of training")
    parser.add_argument("--figure", default=None, metavar="OUT.png")
    parser.add_argument("--merge", nargs="+", default=None, metavar="RESULT.json",
                        help="join these result files into one (no training)")
    args = parser.parse_args(argv)
    if args.plot:
        plot_curves(args.plot, args.figure or Path(args.plot).with_suffix(".png").name)
        return
    if args.merge:
        write(merge(args.merge), args)
        return
    from visiongrad.recipes import rl as recipe

    steps = args.steps or recipe.Config(env=args.env, algo=args.algo).steps
    runners = {"visiongrad": run_visiongrad, "sb3": run_sb3}
    libraries = args.libraries.split(",")
    if args.algo == "reinforce" and "sb3" in libraries:
        parser.error("Stable-Baselines3 has no REINFORCE: use --libraries visiongrad")
    results = {"algo": args.algo, "env": args.env, "steps": steps,
               "hyperparameters": {k: v for k, v in recipe.PRESETS.get(
                   (args.algo, args.env), {}).items()},
               "runs": []}
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        run = {"seed": seed}
        for library in libraries:
            load_before = os.getloadavg()[0]
            run[library] = runners[library](args.algo, args.env, steps, seed, args.episodes)
            r = run[library]
            r["load_average_before_after"] = [load_before, os.getloadavg()[0]]
            _log(f"{library:10s} seed {seed}: mean return {r['return_mean']:.1f} ± "
                 f"{r['return_std']:.1f} over {args.episodes} episodes, "
                 f"{r['train_seconds']:.1f} s, {r['steps_per_second']:.0f} steps/s")
        results["runs"].append(run)
    summarise(results)
    write(results, args)


def summarise(results: dict) -> None:
    """Add (and print) the median time ratio and, per library, the mean and std over
    seeds of the seeds' mean returns."""
    runs = results["runs"]
    if all("sb3" in run for run in runs):
        ratios = [run["visiongrad"]["train_seconds"] / run["sb3"]["train_seconds"]
                  for run in runs]
        results["time_per_step_ratio_median"] = statistics.median(ratios)
        _log(f"visiongrad / Stable-Baselines3 wall time per step: median "
             f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
    for library in ("visiongrad", "sb3"):
        means = [run[library]["return_mean"] for run in runs if library in run]
        if means:
            results[f"{library}_return_over_seeds"] = {
                "mean": float(np.mean(means)), "std": float(np.std(means)),
                "seeds": len(means)}
            _log(f"{library:10s} over {len(means)} seeds: mean return "
                 f"{np.mean(means):.2f} ± {np.std(means):.2f}")


def merge(paths: list[str]) -> dict:
    """One result from several files of the same agent, environment and step budget,
    runs ordered by seed (a seed in two files is an error)."""
    parts = [json.loads(Path(path).read_text()) for path in paths]
    key = {(part["algo"], part["env"], part["steps"]) for part in parts}
    if len(key) != 1:
        raise SystemExit(f"--merge: the files differ in agent, environment or steps: {key}")
    runs = sorted((run for part in parts for run in part["runs"]), key=lambda run: run["seed"])
    seeds = [run["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"--merge: a seed appears twice: {seeds}")
    results = {name: parts[0][name] for name in ("algo", "env", "steps", "hyperparameters")}
    results["runs"] = runs
    summarise(results)
    return results


def write(results: dict, args) -> None:
    destination = Path(args.out) if args.out else (
        RESULTS / f"rl_{results['algo']}_{results['env'].replace('/', '_')}.json"
        if args.write else None)
    if destination is not None:
        destination.write_text(to_json(results) + "\n")
        _log(f"wrote {destination}")


if __name__ == "__main__":
    main()
