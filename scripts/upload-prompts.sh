#!/usr/bin/env bash
# Validates the bundled prompts (prompts/<assistant>/<name>.md: each a prompt of the catalogue,
# at most 64 KiB of UTF-8 without NUL, using only its known placeholders) and uploads them to
# one stack's prompts bucket (the Terraform output prompts_bucket_name), skipping every file
# whose MD5 matches the stored object's ETag. Each upload is a new version of that prompt; the
# running processes serve it within STORY42_PROMPT_CACHE_TTL_MS (default 5 minutes), or at once
# after POST /admin/prompts/reload in that process.
#
#   scripts/upload-prompts.sh <env> <region> [--dry-run]
#
# Before anything changes it checks the tools, the region and the AWS credentials, and reads the
# bucket's name from the stack's Terraform outputs (scripts/deploy.sh leaves the stack
# initialised; PROMPTS_BUCKET=<name> names the bucket instead).
# --dry-run validates and lists what would be uploaded: it reads the bucket, writes nothing.
# -h, --help prints this text.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

env_region_args "$@"; set -- "${REST[@]+"${REST[@]}"}"
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    *) usage ;;
  esac
done
STACK="$(env_prefix "$ENV_NAME" "$REGION")"
DIR="$ROOT/cdktf.out/stacks/$STACK"
if [ -n "${PROMPTS_BUCKET:-}" ]; then
  preflight "$ENV_NAME" "$REGION" aws npm node
  BUCKET="$PROMPTS_BUCKET"
else
  preflight "$ENV_NAME" "$REGION" aws npm node terraform
  BUCKET="$(terraform -chdir="$DIR" output -raw prompts_bucket_name 2>/dev/null)" || BUCKET=""
  [ -n "$BUCKET" ] || die "cannot read the Terraform output prompts_bucket_name of $STACK (deploy the stack with scripts/deploy.sh $ENV_NAME $REGION first, or set PROMPTS_BUCKET)"
fi
echo "Story42 prompts: s3://$BUCKET/prompts/ ($STACK)$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing is written)')"
ARGS=("$BUCKET" "$REGION")
[ "$DRY_RUN" = 1 ] && ARGS+=(--dry-run)
cd "$ROOT"
npm run --silent upload-prompts -- "${ARGS[@]}"
