#!/usr/bin/env bash
# Builds the container images for linux/amd64, tags them with the git commit, pushes them to
# ECR, points each Lambda at its new image and rolls the story agent on ECS (waiting until
# the service is stable).
#
#   scripts/rebuild_and_deploy.sh <env> <region> [--only text-regen|image-regen|data-ops|agent]... [--push-only] [--dry-run]
#
# --dry-run prints the plan without running it; --push-only stops after pushing (first deploy,
# before phase 2 exists). TAG=<tag> overrides the image tag. -h, --help prints this text.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

help_requested "$@" && usage 0
[ $# -ge 2 ] || usage
case "$1" in -*) usage ;; esac
ENV_NAME="$1"; REGION="$2"; shift 2
ONLY=(); PUSH_ONLY=0; DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || usage; ONLY+=("$2"); shift 2 ;;
    --only=*) ONLY+=("${1#--only=}"); shift ;;
    --push-only) PUSH_ONLY=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    *) usage ;;
  esac
done
export DRY_RUN
ALL=(text-regen image-regen data-ops agent)
[ ${#ONLY[@]} -gt 0 ] || ONLY=("${ALL[@]}")
for c in "${ONLY[@]}"; do
  case "$c" in text-regen|image-regen|data-ops|agent) ;; *) die "unknown component '$c' (use text-regen, image-regen, data-ops or agent)" ;; esac
done

# component -> image name (docker/<image>/Dockerfile, ECR repository <prefix>-<image>, Lambda <prefix>-<image>)
image_of() { case "$1" in text-regen) echo story-text-regen ;; image-regen) echo story-image-regen ;; data-ops) echo data-ops ;; agent) echo story-agent ;; esac; }

PREFIX="$(env_prefix "$ENV_NAME" "$REGION")"
PINNED_TAG="$(env_field "$ENV_NAME" "$REGION" image_tag)"
[ "$DRY_RUN" = 1 ] || need docker aws npm node git
TAG="$(image_tag)"
if [ "$DRY_RUN" = 1 ]; then ACCOUNT="<account-id>"; else ACCOUNT="$(aws sts get-caller-identity --query Account --output text)"; fi
REGISTRY="$ACCOUNT.dkr.ecr.$REGION.amazonaws.com"
TOTAL=4; [ "$PUSH_ONLY" = 1 ] && TOTAL=3
MODE=""; [ "$DRY_RUN" = 1 ] && MODE=" (dry run: nothing is run)"
echo "Story42 rebuild and deploy: $PREFIX, tag $TAG, components: ${ONLY[*]}$MODE"

step 1 $TOTAL "Build the bundles the Dockerfiles copy"
run npm run --silent build:images

step 2 $TOTAL "Log in to ECR ($REGISTRY)"
printf '+ aws ecr get-login-password --region %s | docker login --username AWS --password-stdin %s\n' "$REGION" "$REGISTRY"
if [ "$DRY_RUN" != 1 ]; then aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"; fi

step 3 $TOTAL "Build and push linux/amd64 images"
for c in "${ONLY[@]}"; do
  image="$(image_of "$c")"
  run docker buildx build --platform linux/amd64 --provenance=false -f "docker/$image/Dockerfile" -t "$REGISTRY/$PREFIX-$image:$TAG" --push "$ROOT"
done

if [ "$PUSH_ONLY" = 1 ]; then echo; echo "Pushed tag $TAG (push only).$MODE"; exit 0; fi

step 4 $TOTAL "Roll out"
for c in "${ONLY[@]}"; do
  image="$(image_of "$c")"
  uri="$REGISTRY/$PREFIX-$image:$TAG"
  if [ "$c" = agent ]; then
    family="$PREFIX-story-agent"; cluster="$PREFIX-ecs-cluster"; service="$PREFIX-story-generator"
    printf '+ aws ecs describe-task-definition --task-definition %s  (then register a revision with image %s)\n' "$family" "$uri"
    if [ "$DRY_RUN" = 1 ]; then
      arn="<new task definition revision>"
    else
      current="$(aws ecs describe-task-definition --task-definition "$family" --region "$REGION" --query taskDefinition --output json)"
      next="$(printf '%s' "$current" | node -e '
        const td = JSON.parse(require("fs").readFileSync(0, "utf8"));
        for (const k of ["taskDefinitionArn","revision","status","requiresAttributes","compatibilities","registeredAt","registeredBy","deregisteredAt"]) delete td[k];
        td.containerDefinitions.forEach((c) => { if (c.name === "story-agent") c.image = process.argv[1]; });
        process.stdout.write(JSON.stringify(td));' "$uri")"
      arn="$(aws ecs register-task-definition --region "$REGION" --cli-input-json "$next" --query taskDefinition.taskDefinitionArn --output text)"
    fi
    run aws ecs update-service --cluster "$cluster" --service "$service" --task-definition "$arn" --force-new-deployment --region "$REGION"
    echo "  waiting for $service to be stable (new tasks healthy behind the ALB)..."
    run aws ecs wait services-stable --cluster "$cluster" --services "$service" --region "$REGION"
  else
    fn="$PREFIX-$image"
    run aws lambda update-function-code --function-name "$fn" --image-uri "$uri" --region "$REGION"
    run aws lambda wait function-updated --function-name "$fn" --region "$REGION"
  fi
done
echo; echo "Deployed tag $TAG to $PREFIX.$MODE"
if [ "$TAG" != "$PINNED_TAG" ]; then
  cat <<NOTE

Note: terraform still pins image_tag "$PINNED_TAG" (environments/$ENV_NAME/$REGION.json).
Before the next terraform apply, set "image_tag": "$TAG" there
(or synth with IMAGE_TAG=$TAG); otherwise that apply rolls back to the pinned image.
NOTE
fi
