#!/usr/bin/env bash
# The whole two-phase rollout of one environment/region:
#   phase 1 (foundation) -> images to ECR -> phase 2 (compute) -> outputs.
#
#   scripts/deploy.sh <env> <region> [--dry-run]
#
# The images are tagged with the git commit (TAG=<tag> overrides); phase 2 runs with that tag.
# --dry-run prints the plan without running it. -h, --help prints this text.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

help_requested "$@" && usage 0
[ $# -ge 2 ] || usage
case "$1" in -*) usage ;; esac
ENV_NAME="$1"; REGION="$2"; shift 2
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in --dry-run) DRY_RUN=1; shift ;; *) usage ;; esac
done
export DRY_RUN
STACK="$(env_prefix "$ENV_NAME" "$REGION")"
[ "$DRY_RUN" = 1 ] || need terraform docker aws npm node git
DIR="$ROOT/cdktf.out/stacks/$STACK"
TAG="$(image_tag)"; export TAG
MODE=""; [ "$DRY_RUN" = 1 ] && MODE=" (dry run: nothing is run)"
echo "Story42 deploy: stack $STACK, image tag $TAG$MODE"

step 1 5 "Phase 1: foundation (ECR, VPC, S3, DynamoDB, Cognito, Secrets, CloudFront)"
run env IMAGES_READY=false npm run --silent synth -- "$ENV_NAME/$REGION"
run terraform -chdir="$DIR" init -input=false
# Re-running on a live environment: applying images_ready=false would remove the compute (and
# the API would come back with a new URL). Then phase 1 changes go out with phase 2 below.
live=""
if [ "$DRY_RUN" != 1 ]; then live="$(terraform -chdir="$DIR" output -raw api_endpoint 2>/dev/null || true)"; fi
case "$live" in
  https://*) echo "  phase 2 is already deployed ($live): the foundation is applied together with phase 2 (step 3)." ;;
  *) run terraform -chdir="$DIR" apply -input=false -auto-approve ;;
esac

step 2 5 "Container images -> ECR (tag $TAG)"
dry=(); [ "$DRY_RUN" = 1 ] && dry=(--dry-run)
# Not through run(): the nested script honours --dry-run itself and prints its own plan.
"$ROOT/scripts/rebuild_and_deploy.sh" "$ENV_NAME" "$REGION" --push-only "${dry[@]}"

step 3 5 "Phase 2: compute (Lambda, API Gateway, ECS, ALB) with image tag $TAG"
run env IMAGES_READY=true IMAGE_TAG="$TAG" npm run --silent synth -- "$ENV_NAME/$REGION"
run terraform -chdir="$DIR" init -input=false
run terraform -chdir="$DIR" apply -input=false -auto-approve

step 4 5 "Outputs"
run terraform -chdir="$DIR" output

step 5 5 "Done"
cat <<NEXT
Stack $STACK is deployed with image tag $TAG.$MODE
Next:
  - set "images_ready": true and "image_tag": "$TAG" in environments/$ENV_NAME/$REGION.json,
    so a later plain synth + apply keeps phase 2 and this tag;
  - put the API keys into the (empty) secrets, once:
      aws secretsmanager put-secret-value --region $REGION --secret-id "\$(terraform -chdir=$DIR output -raw google_api_key_secret_name)" --secret-string '<key>'
      aws secretsmanager put-secret-value --region $REGION --secret-id "\$(terraform -chdir=$DIR output -raw tts_api_key_secret_name)" --secret-string '<key>'
  - the admin user ($(env_field "$ENV_NAME" "$REGION" admin_email)) gets a temporary password by email from Cognito.
NEXT
