"""The deployment actions: what the fixtures hand to a scenario, usable without pytest.

``ecr`` (pin, promote, push images), ``taskdef`` (render, validate, register revisions), ``service`` (update,
watch through ``watch``, roll back), ``task`` (one-off tasks), ``smoke`` (checks after a rollout) and
``deploy`` (the common case in one call); beside them ``reads`` (the service read and argument checks several
actions share) and ``polling`` (the one way an action waits). Nothing here imports pytest or pluggy: the plugin
wires these classes to fixtures, and any other program can drive them through a :class:`~pytest_ecsdeploy.run.Run`.
"""
