"""Zero-shot control from a text prompt (`worldsim control`): imagine the prompted future with the
world model, read its actions with the env's inverse dynamics model, act in the real env, replan.

tasks.py (what success is, from the env's truth), prompts.py (short prompt -> training-style
caption), imagine.py (real frames -> imagined futures), policies.py (prompt control and the
baselines), candidates.py and likelihood.py (the prompt-likelihood planner: candidate action
sequences scored by how well the prompt explains their imagined futures), episode.py (one
episode in the real env), grid.py (tasks x policies x seeds with intervals), report.py (videos,
JSON, HTML).
"""
