#!/usr/bin/env bash
# The whole two-phase rollout of one environment/region:
#   phase 1 (foundation) -> images to ECR -> phase 2 (compute) -> the web studio -> outputs.
#
#   scripts/deploy.sh <env> <region> [--dry-run] [--foundation-only [--allow-phase-downgrade]]
#
# Before anything changes it checks the tools, the region (the environment file's, and
# AWS_REGION if set), the AWS credentials and, with remote state, that the state bucket exists
# (scripts/bootstrap-state.sh creates it). The images are tagged with the git commit
# (TAG=<tag> overrides); images already in ECR with that tag are not pushed again. Phase 2 runs
# with that tag, which is then recorded in environments/<env>/<region>.json ("image_tag",
# "images_ready": true), so a later plain synth + apply keeps it. Commit that file.
# The web studio (web/) is then built (npm run build:web), given its web/dist/config.json from
# `terraform output -json web_config`, synced to the site bucket (assets/* cached for a year as
# immutable, everything else no-cache) and CloudFront's copies of /index.html and /config.json
# are invalidated. Each `terraform init` runs with the committed provider lock file
# (terraform/.terraform.lock.hcl) in the stack's folder.
# --foundation-only applies phase 1 alone (no images, no compute) and records
# "images_ready": false. On an environment whose state holds phase 2 that would delete the
# Lambdas, the API (its URL changes), the agent service and the ALB, so it is refused unless
# --allow-phase-downgrade is given too.
# --dry-run prints the plan without running it. -h, --help prints this text.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

env_region_args "$@"; set -- "${REST[@]+"${REST[@]}"}"
DRY_RUN=0; FOUNDATION_ONLY=0; ALLOW_DOWNGRADE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    --foundation-only) FOUNDATION_ONLY=1; shift ;;
    --allow-phase-downgrade) ALLOW_DOWNGRADE=1; shift ;;
    *) usage ;;
  esac
done
if [ "$ALLOW_DOWNGRADE" = 1 ] && [ "$FOUNDATION_ONLY" != 1 ]; then
  echo "error: --allow-phase-downgrade goes with --foundation-only" >&2
  usage
fi
export DRY_RUN
FILE="$(env_file "$ENV_NAME" "$REGION")"; FILE_REL="${FILE#"$ROOT"/}"
STACK="$(env_prefix "$ENV_NAME" "$REGION")"
if [ "$DRY_RUN" = 1 ]; then
  check_region "$ENV_NAME" "$REGION"
elif [ "$FOUNDATION_ONLY" = 1 ]; then
  preflight "$ENV_NAME" "$REGION" terraform aws npm node
else
  preflight "$ENV_NAME" "$REGION" terraform docker aws npm node git
fi
# Remote state: its bucket must exist before terraform init (scripts/bootstrap-state.sh makes it).
STATE_BUCKET="$(env_field "$ENV_NAME" "$REGION" state_backend.bucket)"
if [ -n "$STATE_BUCKET" ] && [ "$DRY_RUN" != 1 ]; then
  STATE_REGION="$(env_field "$ENV_NAME" "$REGION" state_backend.region)"
  if ! aws s3api head-bucket --bucket "$STATE_BUCKET" --expected-bucket-owner "$ACCOUNT" --region "${STATE_REGION:-$REGION}" >/dev/null 2>&1; then
    die "state: the Terraform state bucket s3://$STATE_BUCKET (state_backend in $FILE_REL) is missing or not this account's; create it with scripts/bootstrap-state.sh $ENV_NAME $REGION"
  fi
fi
DIR="$ROOT/cdktf.out/stacks/$STACK"
MODE=""; [ "$DRY_RUN" = 1 ] && MODE=" (dry run: nothing is run)"

# tf_output NAME: one Terraform output of the stack (a placeholder in a dry run); stops when it is missing.
tf_output() {
  if [ "$DRY_RUN" = 1 ]; then printf '<%s>' "$1"; return; fi
  local v
  v="$(terraform -chdir="$DIR" output -raw "$1" 2>/dev/null)" || v=""
  [ -n "$v" ] || die "cannot read the Terraform output $1 of $STACK (is phase 2 applied?)"
  printf '%s' "$v"
}

# publish_web_studio: builds web/ into web/dist, writes web/dist/config.json from the stack's
# outputs, syncs web/dist to the site bucket and invalidates CloudFront's copies of the two
# files that are not content-hashed. Hashed assets/* go first (and stale ones are deleted last),
# so a browser that loads the new index.html always finds its assets.
publish_web_studio() {
  local dist="$ROOT/web/dist" bucket distribution
  run npm run --silent build:web
  [ "$DRY_RUN" = 1 ] || [ -f "$dist/index.html" ] || die "web studio: npm run build:web wrote no web/dist/index.html"
  printf '+ terraform -chdir=%s output -json web_config > web/dist/config.json\n' "$DIR"
  if [ "$DRY_RUN" != 1 ]; then
    terraform -chdir="$DIR" output -json web_config > "$dist/config.json.tmp" || die "cannot read the Terraform output web_config of $STACK"
    # The app's /config.json: exactly these five strings, URLs without a trailing slash.
    node -e '
      const fs = require("fs");
      const file = process.argv[1];
      const c = JSON.parse(fs.readFileSync(file, "utf8"));
      const keys = ["apiUrl", "agentUrl", "region", "userPoolId", "userPoolClientId"];
      const bad = keys.filter((k) => typeof c?.[k] !== "string" || c[k] === "" || (k.endsWith("Url") && (!c[k].startsWith("https://") || c[k].endsWith("/"))));
      if (typeof c !== "object" || c === null || Object.keys(c).sort().join() !== [...keys].sort().join() || bad.length) {
        console.error(`web studio: web_config is not the app config (check ${bad.join(", ") || "its keys"}): ${JSON.stringify(c)}`);
        process.exit(1);
      }
      fs.writeFileSync(file.replace(/\.tmp$/, ""), JSON.stringify(c, null, 2) + "\n");
      fs.unlinkSync(file);' "$dist/config.json.tmp" || exit 1
  fi
  bucket="$(tf_output site_bucket_name)"
  distribution="$(tf_output cloudfront_distribution_id)"
  run aws s3 sync "$dist/assets/" "s3://$bucket/assets/" --region "$REGION" --cache-control 'public, max-age=31536000, immutable'
  run aws s3 sync "$dist/" "s3://$bucket/" --region "$REGION" --delete --exclude 'assets/*' --cache-control 'no-cache'
  run aws s3 sync "$dist/assets/" "s3://$bucket/assets/" --region "$REGION" --delete --cache-control 'public, max-age=31536000, immutable'
  run aws cloudfront create-invalidation --distribution-id "$distribution" --paths /index.html /config.json
}

# phase2_in_state: true when the stack's state holds compute (phase 2) resources. A state that
# does not exist yet is phase 1; a state that cannot be read stops the deploy.
phase2_in_state() {
  local err rc=0 list msg
  err="$(mktemp)"
  list="$(terraform -chdir="$DIR" state list 2>"$err")" || rc=$?
  msg="$(<"$err")"; rm -f "$err"
  if [ "$rc" != 0 ]; then
    [[ "$msg" == *"No state file was found"* ]] && return 1
    die "cannot read the Terraform state of $STACK, so cannot tell which phase is deployed: ${msg//$'\n'/ }"
  fi
  COMPUTE_IN_STATE="$(printf '%s\n' "$list" | grep -cE '^(module\.[^ ]+\.)?(aws_lambda_function|aws_ecs_service|aws_api_gateway_rest_api)\.' || true)"
  [ "$COMPUTE_IN_STATE" -gt 0 ]
}

if [ "$FOUNDATION_ONLY" = 1 ]; then
  echo "Story42 deploy: stack $STACK, phase 1 only$MODE"
  step 1 3 "Phase 1 only: foundation (ECR, VPC, S3, DynamoDB, Cognito, Secrets, CloudFront)"
  run env IMAGES_READY=false npm run --silent synth -- "$ENV_NAME/$REGION"
  copy_lock_file "$DIR"
  run terraform -chdir="$DIR" init -input=false
  if [ "$DRY_RUN" = 1 ]; then
    if [ "$ALLOW_DOWNGRADE" = 1 ]; then why="with --allow-phase-downgrade, a deployed phase 2 is removed"; else why="if phase 2 is deployed, stop here: add --allow-phase-downgrade to remove it"; fi
    echo "+ terraform -chdir=$DIR state list  ($why)"
  elif phase2_in_state; then
    if [ "$ALLOW_DOWNGRADE" != 1 ]; then
      die "phase 2 is deployed ($COMPUTE_IN_STATE compute resources in the state of $STACK): applying phase 1 alone would delete the Lambdas, the API (its URL changes), the agent service and the ALB. Run scripts/deploy.sh $ENV_NAME $REGION to update it, or add --allow-phase-downgrade to remove the compute on purpose."
    fi
    echo "  --allow-phase-downgrade: phase 2 is deployed ($COMPUTE_IN_STATE compute resources); this apply removes it."
  fi
  run terraform -chdir="$DIR" apply -input=false -auto-approve
  printf '+ set "images_ready": false in %s\n' "$FILE_REL"
  [ "$DRY_RUN" = 1 ] || set_env_fields "$ENV_NAME" "$REGION" images_ready=false

  step 2 3 "Outputs"
  run terraform -chdir="$DIR" output

  step 3 3 "Done"
  echo "Stack $STACK is in phase 1 (no compute); $FILE_REL records \"images_ready\": false.$MODE"
  dry_run_done
  exit 0
fi

TAG="$(image_tag)"; export TAG
echo "Story42 deploy: stack $STACK, image tag $TAG$MODE"

step 1 6 "Phase 1: foundation (ECR, VPC, S3, DynamoDB, Cognito, Secrets, CloudFront)"
run env IMAGES_READY=false npm run --silent synth -- "$ENV_NAME/$REGION"
copy_lock_file "$DIR"
run terraform -chdir="$DIR" init -input=false
# Re-running on a live environment: applying images_ready=false would remove the compute (and
# the API would come back with a new URL). Then phase 1 changes go out with phase 2 below.
if [ "$DRY_RUN" = 1 ]; then
  echo "+ terraform -chdir=$DIR state list  (if phase 2 is deployed, phase 1 goes out with phase 2 in step 3)"
  run terraform -chdir="$DIR" apply -input=false -auto-approve
elif phase2_in_state; then
  echo "  phase 2 is already deployed ($COMPUTE_IN_STATE compute resources in the state): the foundation is applied together with phase 2 (step 3)."
else
  run terraform -chdir="$DIR" apply -input=false -auto-approve
fi

step 2 6 "Container images -> ECR (tag $TAG)"
dry=(); [ "$DRY_RUN" = 1 ] && dry=(--dry-run)
# Not through run(): the nested script honours --dry-run itself and prints its own plan.
STORY42_NESTED=1 "$ROOT/scripts/rebuild_and_deploy.sh" "$ENV_NAME" "$REGION" --push-only "${dry[@]+"${dry[@]}"}"

step 3 6 "Phase 2: compute (Lambda, API Gateway, ECS, ALB) with image tag $TAG"
run env IMAGES_READY=true IMAGE_TAG="$TAG" npm run --silent synth -- "$ENV_NAME/$REGION"
copy_lock_file "$DIR"
run terraform -chdir="$DIR" init -input=false
run terraform -chdir="$DIR" apply -input=false -auto-approve
# Terraform reads the tag and the phase from the environment file: record what is now deployed.
printf '+ set "image_tag": "%s", "images_ready": true in %s\n' "$TAG" "$FILE_REL"
[ "$DRY_RUN" = 1 ] || set_env_fields "$ENV_NAME" "$REGION" "image_tag=\"$TAG\"" images_ready=true

step 4 6 "Web studio: build, config.json, sync to the site bucket, CloudFront invalidation"
publish_web_studio

step 5 6 "Outputs"
run terraform -chdir="$DIR" output

step 6 6 "Done"
cat <<NEXT
Stack $STACK is deployed with image tag $TAG.$MODE
CloudFront takes a few minutes to carry a change to all its edges (the apply does not wait for it).
Next:
  - commit $FILE_REL: it now records "images_ready": true and "image_tag": "$TAG",
    so a later plain synth + apply keeps phase 2 and this tag;
  - put the API keys into the (empty) secrets, once:
      aws secretsmanager put-secret-value --region $REGION --secret-id "\$(terraform -chdir=$DIR output -raw google_api_key_secret_name)" --secret-string '<key>'
      aws secretsmanager put-secret-value --region $REGION --secret-id "\$(terraform -chdir=$DIR output -raw tts_api_key_secret_name)" --secret-string '<key>'
  - the admin user ($(env_field "$ENV_NAME" "$REGION" admin_email)) gets a temporary password by email from Cognito.
NEXT
dry_run_done
