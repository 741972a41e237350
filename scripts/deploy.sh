#!/usr/bin/env bash
# The whole two-phase rollout of one environment/region:
#   phase 1 (foundation) -> images to ECR -> phase 2 (compute) -> outputs.
#
#   scripts/deploy.sh <env> <region> [--dry-run]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

[ $# -ge 2 ] || { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
ENV_NAME="$1"; REGION="$2"; shift 2
DRY_RUN=0
[ "${1:-}" = "--dry-run" ] && DRY_RUN=1
export DRY_RUN
STACK="$(env_prefix "$ENV_NAME" "$REGION")"
DIR="$ROOT/cdktf.out/stacks/$STACK"
TAG="$(image_tag)"; export TAG

step 1 4 "Phase 1: foundation (ECR, VPC, S3, DynamoDB, Cognito, Secrets, CloudFront)"
run env IMAGES_READY=false npm run --silent synth -- "$ENV_NAME/$REGION"
run terraform -chdir="$DIR" init -input=false
run terraform -chdir="$DIR" apply -input=false -auto-approve

step 2 4 "Container images -> ECR (tag $TAG)"
dry=(); [ "$DRY_RUN" = 1 ] && dry=(--dry-run)
# Not through run(): the nested script honours --dry-run itself and prints its own plan.
"$ROOT/scripts/rebuild_and_deploy.sh" "$ENV_NAME" "$REGION" --push-only "${dry[@]}"

step 3 4 "Phase 2: compute (Lambda, API Gateway, ECS, ALB)"
run env IMAGES_READY=true IMAGE_TAG="$TAG" npm run --silent synth -- "$ENV_NAME/$REGION"
run terraform -chdir="$DIR" apply -input=false -auto-approve

step 4 4 "Outputs"
run terraform -chdir="$DIR" output
