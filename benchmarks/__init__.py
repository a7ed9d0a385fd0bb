"""Speed and accuracy measurements of visiongrad beside PyTorch and scikit-learn.

Each script imports NumPy (and PyTorch) before visiongrad, as users do: visiongrad's
OpenBLAS settings take effect whatever was imported first (``visiongrad.accel.settings``),
so the figures are those a user gets.
"""
