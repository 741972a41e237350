# Shared helpers for the deploy scripts (sourced, not run).

# step N TOTAL "what": a progress line.
step() { printf '\n==> [%s/%s] %s\n' "$1" "$2" "$3"; }

# run CMD...: prints the command; runs it unless DRY_RUN=1.
run() {
  printf '+ %s\n' "$*"
  if [ "${DRY_RUN:-0}" != 1 ]; then "$@"; fi
}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# dry_run_done: a dry run's last line. A script that another one runs as a step (STORY42_NESTED=1)
# leaves it to the outer script.
dry_run_done() {
  if [ "${DRY_RUN:-0}" = 1 ] && [ -z "${STORY42_NESTED:-}" ]; then echo; echo 'Dry run: nothing was deployed.'; fi
}

# usage [CODE]: prints the calling script's header comment (after the shebang) and exits CODE.
#   usage      a wrong invocation: the text on stderr, exit 2;
#   usage 0    asked for (-h, --help): the text on stdout, exit 0.
usage() {
  local code="${1:-2}"
  if [ "$code" = 0 ]; then
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
  else
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2
  fi
  exit "$code"
}

# help_requested ARG...: true when any argument is -h or --help (checked before anything else).
help_requested() {
  local arg
  for arg in "$@"; do case "$arg" in -h|--help) return 0 ;; esac; done
  return 1
}

# env_region_args ARG...: every deploy script's start — usage on -h/--help or without
# <env> <region> first; sets ENV_NAME and REGION, and REST to the arguments after them
# (the caller continues with: set -- "${REST[@]+"${REST[@]}"}").
env_region_args() {
  help_requested "$@" && usage 0
  [ $# -ge 2 ] || usage
  case "$1" in -*) usage ;; esac
  ENV_NAME="$1"; REGION="$2"; shift 2
  REST=("$@")
}

# need TOOL...: fails early, naming every missing prerequisite.
need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || die "missing prerequisites: ${missing[*]} (see README.md, Deploying to AWS)"
}

# check_region ENV REGION: the environment file deploys to REGION, and AWS_REGION /
# AWS_DEFAULT_REGION, when set, say the same (a shell left pointing at another region is
# usually the wrong environment). Makes no AWS call.
check_region() {
  local file declared var
  file="$(env_file "$1" "$2")" || exit 1
  declared="$(env_field "$1" "$2" region)"
  [ "$declared" = "$2" ] || die "region: ${file#"$ROOT"/} deploys to \"$declared\", not $2 (its \"region\" must match the file name)"
  for var in AWS_REGION AWS_DEFAULT_REGION; do
    if [ -n "${!var:-}" ] && [ "${!var}" != "$2" ]; then
      die "region: $var is ${!var}, but ${file#"$ROOT"/} deploys to $2; unset $var or set it to $2"
    fi
  done
}

# check_credentials REGION: working AWS credentials (aws sts get-caller-identity); sets ACCOUNT.
check_credentials() {
  local err out msg
  err="$(mktemp)"
  if ! out="$(aws sts get-caller-identity --region "$1" --query Account --output text 2>"$err")"; then
    msg="$(<"$err")"; rm -f "$err"
    msg="${msg//$'\n'/ }"
    die "credentials: 'aws sts get-caller-identity' failed (${msg:-no message}); sign in (aws sso login, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again"
  fi
  rm -f "$err"
  out="${out//[[:space:]]/}"
  [[ "$out" =~ ^[0-9]{12}$ ]] || die "credentials: 'aws sts get-caller-identity' returned no account id (got \"$out\")"
  ACCOUNT="$out"
}

# preflight ENV REGION TOOL...: before anything changes: the tools, then the region, then the
# credentials (sets ACCOUNT). The first problem stops the script with one message, exit 1.
preflight() {
  local env_name="$1" region="$2"; shift 2
  need "$@"
  check_region "$env_name" "$region"
  check_credentials "$region"
  echo "AWS account $ACCOUNT, region $region"
}

# copy_lock_file DIR: the committed provider lock file (terraform/.terraform.lock.hcl: the pinned
# hashicorp/aws with its official hashes) into a synthesized stack's folder, before terraform init.
copy_lock_file() {
  printf '+ cp terraform/.terraform.lock.hcl %s/.terraform.lock.hcl\n' "$1"
  if [ "${DRY_RUN:-0}" != 1 ]; then mkdir -p "$1" && cp "$ROOT/terraform/.terraform.lock.hcl" "$1/.terraform.lock.hcl"; fi
}

# env_file ENV REGION: environments/<env>/<region>.json, which must exist.
env_file() {
  local file="$ROOT/environments/$1/$2.json"
  [ -f "$file" ] || die "no environment file $file"
  printf '%s' "$file"
}

# env_field ENV REGION FIELD: one field of the environment file ("a.b" for a nested one); "" when absent.
env_field() {
  node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const v=process.argv[2].split(".").reduce((o,k)=>o==null?undefined:o[k],c); process.stdout.write(v==null?"":String(v))' "$(env_file "$1" "$2")" "$3"
}

# set_env_fields ENV REGION FIELD=JSON...: records top-level fields in the environment file, the
# file terraform's synth reads (e.g. image_tag='"3f2c1a9e0b7d"' images_ready=true). Only those
# values change, the rest of the file keeps its layout; the file is replaced atomically.
set_env_fields() {
  local file
  file="$(env_file "$1" "$2")" || exit 1
  shift 2
  node -e '
    const fs = require("fs");
    const [file, ...pairs] = process.argv.slice(1);
    const original = fs.readFileSync(file, "utf8");
    const wanted = pairs.map((p) => [p.slice(0, p.indexOf("=")), JSON.parse(p.slice(p.indexOf("=") + 1))]);
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    let text = original;
    for (const [key, value] of wanted) {
      const re = new RegExp(`^(\\s*"${key}"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|true|false|null|-?\\d+(?:\\.\\d+)?)`, "gm");
      if ((text.match(re) ?? []).length === 1) text = text.replace(re, (_, lead) => lead + JSON.stringify(value));
    }
    let parsed;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    if (!parsed || !wanted.every(([k, v]) => same(parsed[k], v)) || !same({ ...JSON.parse(original), ...Object.fromEntries(wanted) }, parsed)) {
      // The field is not on a line of its own: write the whole object, fields in place.
      text = JSON.stringify({ ...JSON.parse(original), ...Object.fromEntries(wanted) }, null, 2) + "\n";
    }
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);' "$file" "$@"
}

# env_prefix ENV REGION: "<project>-<env>-<region>" (the stack name and every resource's prefix).
env_prefix() {
  local file
  file="$(env_file "$1" "$2")" || exit 1
  node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.stdout.write(`${c.project_name}-${c.environment}-${c.region}`)' "$file"
}

# image_tag: TAG if set, else the last commit that changed anything outside environments/ (the
# scripts record the deployed tag there, and no image contains it, so recording and committing
# a tag does not change the next tag), marked when such files have uncommitted changes (ECR tags
# are immutable, so a dirty build never reuses a clean commit's tag).
image_tag() {
  if [ -n "${TAG:-}" ]; then printf '%s' "$TAG"; return; fi
  local sha
  sha=$(git -C "$ROOT" log -1 --format=%H -- . ':(exclude)environments/')
  [ -n "$sha" ] || sha=$(git -C "$ROOT" rev-parse HEAD)
  sha="${sha:0:12}"
  if [ -n "$(git -C "$ROOT" status --porcelain -- . ':(exclude)environments/')" ]; then sha="$sha-dirty-$(date +%s)"; fi
  printf '%s' "$sha"
}

# ecr_has_tag REPOSITORY TAG REGION: true when the image is in ECR, false when it is not; any
# other answer (no repository, no access) stops the script with AWS's message.
ecr_has_tag() {
  local err rc=0 msg
  err="$(mktemp)"
  aws ecr describe-images --repository-name "$1" --image-ids imageTag="$2" --region "$3" --output json >/dev/null 2>"$err" || rc=$?
  msg="$(<"$err")"; rm -f "$err"
  [ "$rc" = 0 ] && return 0
  [[ "$msg" == *ImageNotFoundException* ]] && return 1
  die "cannot tell whether $1:$2 is in ECR: ${msg//$'\n'/ }"
}
