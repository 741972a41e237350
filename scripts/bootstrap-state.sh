#!/usr/bin/env bash
# Creates what an environment's remote Terraform state needs, as "state_backend" in
# environments/<env>/<region>.json names it (the S3 backend of the stack reads the same
# fields): the S3 bucket. State is locked by a lock file next to it in the bucket (the S3
# backend's use_lockfile), so no DynamoDB lock table is made. Run it once per account, before the
# first deploy.
#
#   scripts/bootstrap-state.sh <env> <region> [--dry-run]
#
# The bucket is versioned, encrypted by default (SSE-S3, AES256), has every public access
# block on and a policy that refuses plain HTTP. Running it again is safe: a bucket
# that already exists in this account is left alone and reported (a bucket missing one of the
# settings gets a warning); a bucket name taken by another account stops it. Without
# "state_backend" the stack keeps its state locally (terraform/state/) and there is nothing to
# create. Before anything changes it checks the tools, the region and the AWS credentials.
# --dry-run prints the plan without running it. -h, --help prints this text.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

env_region_args "$@"; set -- "${REST[@]+"${REST[@]}"}"
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in --dry-run) DRY_RUN=1; shift ;; *) usage ;; esac
done
export DRY_RUN
FILE="$(env_file "$ENV_NAME" "$REGION")"; FILE_REL="${FILE#"$ROOT"/}"
STACK="$(env_prefix "$ENV_NAME" "$REGION")"
BUCKET="$(env_field "$ENV_NAME" "$REGION" state_backend.bucket)"
KEY_PREFIX="$(env_field "$ENV_NAME" "$REGION" state_backend.key_prefix)"
STATE_REGION="$(env_field "$ENV_NAME" "$REGION" state_backend.region)"; STATE_REGION="${STATE_REGION:-$REGION}"
MODE=""; [ "$DRY_RUN" = 1 ] && MODE=" (dry run: nothing is run)"

if [ -z "$BUCKET" ]; then
  echo "$FILE_REL has no \"state_backend\": $STACK keeps its Terraform state locally, in terraform/state/$STACK.tfstate. Nothing to create.$MODE"
  dry_run_done
  exit 0
fi

if [ "$DRY_RUN" = 1 ]; then
  check_region "$ENV_NAME" "$REGION"
  ACCOUNT="<account-id>"
else
  preflight "$ENV_NAME" "$REGION" aws node
fi
echo "Story42 state bootstrap: $STACK, bucket $BUCKET in $STATE_REGION$MODE"

# aws_error CMD...: runs an AWS call; "" when it succeeded, else its error message (never fails).
aws_error() {
  local err msg
  err="$(mktemp)"
  if "$@" >/dev/null 2>"$err"; then rm -f "$err"; return 0; fi
  msg="$(<"$err")"; rm -f "$err"
  msg="${msg//$'\n'/ }"; printf '%s' "${msg:-failed}"
}

step 1 1 "State bucket s3://$BUCKET"
printf '+ aws s3api head-bucket --bucket %s --expected-bucket-owner %s --region %s  (creates the bucket only when it does not exist)\n' "$BUCKET" "$ACCOUNT" "$STATE_REGION"
exists=0
if [ "$DRY_RUN" != 1 ]; then
  msg="$(aws_error aws s3api head-bucket --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION")"
  case "$msg" in
    "") exists=1 ;;
    *"(404)"*|*"Not Found"*|*NoSuchBucket*) ;;
    *"(403)"*|*Forbidden*|*AccessDenied*) die "bucket: s3://$BUCKET exists but is not this account's ($ACCOUNT) or not readable by it. Bucket names are global: set another state_backend.bucket in $FILE_REL (for example $BUCKET-$ACCOUNT)" ;;
    *) die "bucket: cannot tell whether s3://$BUCKET exists: $msg" ;;
  esac
fi

if [ "$exists" = 1 ]; then
  echo "  s3://$BUCKET already exists in account $ACCOUNT: left alone."
  versioning="$(aws s3api get-bucket-versioning --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" --query Status --output text 2>/dev/null || true)"
  encryption="$(aws s3api get-bucket-encryption --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" --query 'ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm' --output text 2>/dev/null || true)"
  public="$(aws s3api get-public-access-block --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" --query 'PublicAccessBlockConfiguration.[BlockPublicAcls,IgnorePublicAcls,BlockPublicPolicy,RestrictPublicBuckets]' --output text 2>/dev/null || true)"
  echo "  versioning: ${versioning:-none}; default encryption: ${encryption:-none}; public access block: ${public:-none}"
  [ "$versioning" = Enabled ] || echo "  warning: versioning is not enabled; a lost or corrupted state cannot be recovered (aws s3api put-bucket-versioning --bucket $BUCKET --versioning-configuration Status=Enabled)"
  case "$encryption" in AES256|aws:kms|aws:kms:dsse) ;; *) echo "  warning: no default encryption (aws s3api put-bucket-encryption --bucket $BUCKET ...)" ;; esac
  [[ "$public" =~ ^[[:space:]]*[Tt]rue[[:space:]]+[Tt]rue[[:space:]]+[Tt]rue[[:space:]]+[Tt]rue[[:space:]]*$ ]] || echo "  warning: public access is not fully blocked (aws s3api put-public-access-block --bucket $BUCKET ...)"
else
  location=(); [ "$STATE_REGION" = us-east-1 ] || location=(--create-bucket-configuration "LocationConstraint=$STATE_REGION")
  run aws s3api create-bucket --bucket "$BUCKET" --region "$STATE_REGION" "${location[@]+"${location[@]}"}" --object-ownership BucketOwnerEnforced
  run aws s3api put-public-access-block --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" \
    --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  run aws s3api put-bucket-versioning --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" --versioning-configuration Status=Enabled
  run aws s3api put-bucket-encryption --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" \
    --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
  tls_only="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::$BUCKET\",\"arn:aws:s3:::$BUCKET/*\"],\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"
  run aws s3api put-bucket-policy --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT" --region "$STATE_REGION" --policy "$tls_only"
  [ "$DRY_RUN" = 1 ] || echo "  created s3://$BUCKET: versioned, encrypted (AES256), public access blocked, TLS only."
fi

echo
echo "State of $STACK: s3://$BUCKET/$KEY_PREFIX/$ENV_NAME/$REGION/terraform.tfstate (locked by a lock file next to it).$MODE"
echo "Next: scripts/deploy.sh $ENV_NAME $REGION"
dry_run_done
