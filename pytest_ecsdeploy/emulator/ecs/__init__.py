"""The ECS rollout engine, split as moto splits a service: ``responses`` (the one action table, request parsing
and response shapes, ``RolloutEngine``), ``models`` (services, deployments and tasks, and the rules that move
them in simulated time) and ``exceptions`` (one class per ECS error code)."""
