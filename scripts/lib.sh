# Shared helpers for the deploy scripts (sourced, not run).

# step N TOTAL "what": a progress line.
step() { printf '\n==> [%s/%s] %s\n' "$1" "$2" "$3"; }

# run CMD...: prints the command; runs it unless DRY_RUN=1.
run() {
  printf '+ %s\n' "$*"
  if [ "${DRY_RUN:-0}" != 1 ]; then "$@"; fi
}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

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

# need TOOL...: fails early, naming every missing prerequisite.
need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || die "missing prerequisites: ${missing[*]} (see README.md, Deploying to AWS)"
}

# env_file ENV REGION: environments/<env>/<region>.json, which must exist.
env_file() {
  local file="$ROOT/environments/$1/$2.json"
  [ -f "$file" ] || die "no environment file $file"
  printf '%s' "$file"
}

# env_field ENV REGION FIELD: one top-level field of the environment file.
env_field() {
  node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const v=c[process.argv[2]]; process.stdout.write(v===undefined?"":String(v))' "$(env_file "$1" "$2")" "$3"
}

# env_prefix ENV REGION: "<project>-<env>-<region>" (the stack name and every resource's prefix).
env_prefix() {
  local file
  file="$(env_file "$1" "$2")" || exit 1
  node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.stdout.write(`${c.project_name}-${c.environment}-${c.region}`)' "$file"
}

# image_tag: TAG if set, else the git commit, marked when the tree has uncommitted changes
# (ECR tags are immutable, so a dirty build never reuses a clean commit's tag).
image_tag() {
  if [ -n "${TAG:-}" ]; then printf '%s' "$TAG"; return; fi
  local sha
  sha=$(git -C "$ROOT" rev-parse --short=12 HEAD)
  if [ -n "$(git -C "$ROOT" status --porcelain)" ]; then sha="$sha-dirty-$(date +%s)"; fi
  printf '%s' "$sha"
}
