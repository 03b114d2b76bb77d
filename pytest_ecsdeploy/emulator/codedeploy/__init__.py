"""The local CodeDeploy for ECS blue/green deployments: AppSpec checks (``appspec``), the predefined ECS deployment
configs (``configs``), a deployment's lifecycle on the rollout engine's clock (``deployments``) and the API the
middleware routes to it (``responses``). Applications and deployment groups stay moto's."""
