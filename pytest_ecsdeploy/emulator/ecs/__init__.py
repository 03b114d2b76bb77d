"""The ECS rollout engine, split as moto splits a service: ``responses`` (the one action table, request parsing
and response shapes, ``RolloutEngine``), ``models`` (services, deployments and tasks, and the rules of services
and deployments) and ``exceptions`` (one class per ECS error code); and what moves the models in simulated time:
``simulation`` (the clockwork, and the changes actions make), ``tasks`` (a task's lifecycle), ``scheduler`` (the
service scheduler's rolling update) and ``events`` (what DescribeServices says, in ECS's words); and
``service_deployments`` (ECS's history of each rolling deployment, kept as the deployments move)."""
