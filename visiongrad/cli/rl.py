"""``visiongrad rl``: train a reinforcement-learning agent, evaluate it, watch it play.

``visiongrad rl train --env CartPole-v1 --algo ppo [--steps N] [--seed S] [--set K=V ...]
--out RUN`` trains ``visiongrad.recipes.rl`` (hyperparameters: rl-baselines3-zoo's where
it has them, ``--set lr=1e-3`` to change one) with a progress bar showing the mean return
of the last 20 episodes, and writes into RUN ``checkpoint.safetensors`` (atomic, every
minute and at the end), ``returns.png``, ``metrics.json`` and ``report.html``.
``--resume RUN [--steps N]`` continues a run to N steps in all, restoring its networks,
optimizer, counters, exploration schedule, random streams and replay buffer.
``visiongrad rl evaluate RUN --episodes N [--seed S]`` runs the greedy policy; its last line
is ``mean return M ± S over N episodes``. ``visiongrad rl play RUN --gif out.gif`` writes
one greedy episode as an animated GIF.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import CommandError, user_errors
from .options import non_negative_int, positive_float, positive_int
from .output import output_folder

ALGORITHMS = ("dqn", "reinforce", "a2c", "ppo", "q-learning", "sarsa", "value-iteration")


def register(commands) -> None:
    parser = commands.add_parser("rl", help="reinforcement learning: train, evaluate, play")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    parser_class=type(parser))
    train = actions.add_parser("train", help="train an agent on a Gymnasium environment")
    train.add_argument("--env", default="CartPole-v1", help="Gymnasium environment id")
    train.add_argument("--algo", default="ppo", choices=ALGORITHMS, metavar="ALGO",
                       help=", ".join(ALGORITHMS))
    train.add_argument("--steps", type=non_negative_int, default=None,
                       help="environment steps in all (default: the preset's)")
    train.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the environment, exploration and initial weights")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       dest="hyperparameters", help="a hyperparameter (repeatable), e.g. "
                       "lr=1e-3, hidden=[64,64], double=true")
    train.add_argument("--checkpoint-seconds", type=positive_float, default=60.0,
                       help="seconds between checkpoints")
    train.add_argument("--resume", default=None, metavar="RUN",
                       help="continue this run (to --steps in all)")
    train.add_argument("--out", default="visiongrad-rl", help="output folder")
    train.set_defaults(run=run_train)

    evaluate = actions.add_parser("evaluate", help="mean return of the greedy policy")
    evaluate.add_argument("run_dir", metavar="RUN", help="run folder or checkpoint")
    evaluate.add_argument("--episodes", type=positive_int, default=100)
    evaluate.add_argument("--seed", type=non_negative_int, default=0,
                          help="episode i is reset with seed + i")
    evaluate.set_defaults(run=run_evaluate)

    play = actions.add_parser("play", help="one greedy episode as an animated GIF")
    play.add_argument("run_dir", metavar="RUN", help="run folder or checkpoint")
    play.add_argument("--gif", required=True, metavar="OUT.gif", help="GIF to write (new)")
    play.add_argument("--seed", type=non_negative_int, default=0)
    play.add_argument("--max-steps", type=positive_int, default=1000)
    play.add_argument("--fps", type=positive_int, default=30)
    play.set_defaults(run=run_play)


def _recipe():
    """``visiongrad.recipes.rl``, or a one-line error naming the missing extra."""
    try:
        import gymnasium  # noqa: F401

        from visiongrad.recipes import rl as recipe
    except ImportError as error:
        raise CommandError(f"{error}; reinforcement learning needs the rl extra: "
                           "pip install visiongrad[rl]") from None
    return recipe


def _hyperparameters(settings: list[str]) -> dict:
    values = {}
    for setting in settings:
        key, equals, text = setting.partition("=")
        if not equals or not key:
            raise CommandError(f"--set expects KEY=VALUE, got {setting!r}")
        try:
            values[key.strip().replace("-", "_")] = json.loads(text)
        except json.JSONDecodeError:
            raise CommandError(f"--set {key}: {text!r} is not a number, list or "
                               "true/false") from None
    return values


def _checkpoint(run: str) -> Path:
    path = Path(run)
    path = path / "checkpoint.safetensors" if path.is_dir() else path
    if not path.is_file():
        raise CommandError(f"no checkpoint at {path}")
    return path


LIBRARY_ERRORS = (ValueError, FileNotFoundError)


def run_train(args) -> None:
    recipe = _recipe()
    with user_errors(*LIBRARY_ERRORS):
        if args.resume is not None:
            checkpoint = _checkpoint(args.resume)
            saved = recipe.load_checkpoint(checkpoint)["config"]
            config = recipe.Config(env=saved["env"], algo=saved["algo"],
                                   steps=args.steps or saved["steps"], seed=saved["seed"],
                                   out=str(checkpoint.parent), resume=True, progress=True,
                                   checkpoint_seconds=args.checkpoint_seconds)
        else:
            config = recipe.Config(env=args.env, algo=args.algo, steps=args.steps,
                                   seed=args.seed,
                                   hyperparameters=_hyperparameters(args.hyperparameters),
                                   progress=True, checkpoint_seconds=args.checkpoint_seconds)
            config.out = str(output_folder(args.out, fresh=True))
        commands = [args.command_line]
        _, results = recipe.run(config, commands=commands)
    recent = ("" if not results["episodes"] else f", mean return of the last 100 "
              f"{results['mean return of the last 100 episodes']:.2f}")
    print(f"{config.algo} on {config.env}: {results['steps']} steps, "
          f"{results['episodes']} episodes{recent}, {results['seconds']:.1f} s; "
          f"wrote {config.out}")


def run_evaluate(args) -> None:
    recipe = _recipe()
    with user_errors(*LIBRARY_ERRORS):
        agent, config = recipe.load_agent(_checkpoint(args.run_dir))
        returns = agent.evaluate(args.episodes, seed=args.seed)
    print(f"{config.algo} on {config.env}, greedy, seeds {args.seed}.."
          f"{args.seed + args.episodes - 1}: min {returns.min():.2f}, max {returns.max():.2f}")
    print(f"mean return {returns.mean():.2f} ± {returns.std():.2f} over {args.episodes} episodes")


def run_play(args) -> None:
    recipe = _recipe()
    from PIL import Image

    gif = Path(args.gif)
    if gif.exists():
        raise CommandError(f"{gif} exists; name a new file (nothing is overwritten)")
    from gymnasium.error import DependencyNotInstalled

    from visiongrad.rl.envs import make_env

    with user_errors(*LIBRARY_ERRORS, DependencyNotInstalled,
                     context="cannot render the environment: "):
        agent, config = recipe.load_agent(_checkpoint(args.run_dir))
        env = make_env(config.env, render_mode="rgb_array")
        observation, _ = env.reset(seed=args.seed)
        frames, total, done = [env.render()], 0.0, False
        while not done and len(frames) <= args.max_steps:
            observation, reward, terminated, truncated, _ = env.step(agent.act(observation))
            frames.append(env.render())
            total, done = total + reward, terminated or truncated
    images = [Image.fromarray(_as_uint8(frame)) for frame in frames]
    if images[0].width < 160:  # MinAtar's 10x10 frames: scale up, keeping the pixels sharp
        scale = 160 // images[0].width
        images = [image.resize((image.width * scale, image.height * scale), Image.NEAREST)
                  for image in images]
    try:
        images[0].save(gif, save_all=True, append_images=images[1:],
                       duration=max(1, round(1000 / args.fps)), loop=0)
    except OSError as error:
        raise CommandError(f"cannot write {gif}: {error.strerror or error}") from None
    print(f"wrote {gif}: {len(frames) - 1} steps, return {total:.2f}")


def _as_uint8(frame) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        frame = (np.clip(frame, 0.0, 1.0) * 255).astype(np.uint8)
    return frame
