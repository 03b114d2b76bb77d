"""What runs a task's containers for the rollout engine: ``base`` (the ``Runner`` protocol and its specs),
``simulated`` (nothing runs; outcomes per image) and ``docker`` (real containers on the local Docker engine)."""
