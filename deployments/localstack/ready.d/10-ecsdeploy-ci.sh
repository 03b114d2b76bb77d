#!/bin/bash
# LocalStack init hook (ready.d): what the `ci` environment of ecsdeploy.toml deploys to, created once
# LocalStack is ready. The images and the services come from the CI job (docs/ci.md): it pushes the images it
# built to these repositories, then creates the services on their first revision.
set -euo pipefail

awslocal ecs create-cluster --cluster-name ci >/dev/null
for repository in web api; do
    awslocal ecr describe-repositories --repository-names "$repository" >/dev/null 2>&1 \
        || awslocal ecr create-repository --repository-name "$repository" >/dev/null
done
echo "ecsdeploy: cluster ci and repositories web, api are ready"
