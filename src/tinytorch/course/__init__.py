"""The course machinery: the curriculum map, the student release, the grader.

``curriculum.toml`` (next to this file) is the single map of the course;
``tinytorch release`` writes a student repository with the solutions removed,
``tinytorch grade NN`` runs a module's tests against the student's own code and
``tinytorch status`` shows progress and which milestones are unlocked.
This package imports nothing else from tinytorch: the grader must work while
the student's code is still full of ``NotImplementedError``.
"""
