#!/usr/bin/env bash
# Builds the container images for linux/amd64, tags them with the git commit, pushes them to
# ECR, points each Lambda at its new image and rolls the story agent on ECS (waiting until
# the service is stable), then records the tag in environments/<env>/<region>.json
# ("image_tag", and "images_ready": true), which terraform reads, so a later apply keeps this
# code instead of rolling it back. Commit that file.
#
#   scripts/rebuild_and_deploy.sh <env> <region> [--only text-regen|image-regen|data-ops|agent]... [--push-only] [--dry-run]
#
# An image whose tag is already in ECR is not built again ("already pushed, skipping"), so
# re-running for the same commit is safe. With --only, the other images are carried over to the
# new tag (from the recorded one, without a rebuild), so one tag names every image.
# Before anything changes it checks the tools, the region and the AWS credentials.
# --dry-run prints the plan without running it; --push-only stops after pushing (first deploy,
# before phase 2 exists; records nothing). TAG=<tag> overrides the image tag.
# -h, --help prints this text.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

env_region_args "$@"; set -- "${REST[@]+"${REST[@]}"}"
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
# The components not rebuilt: with --only, their images are carried over to the new tag.
OTHERS=()
for c in "${ALL[@]}"; do [[ " ${ONLY[*]} " == *" $c "* ]] || OTHERS+=("$c"); done

# component -> image name (docker/<image>/Dockerfile, ECR repository <prefix>-<image>, Lambda <prefix>-<image>)
image_of() { case "$1" in text-regen) echo story-text-regen ;; image-regen) echo story-image-regen ;; data-ops) echo data-ops ;; agent) echo story-agent ;; esac; }

FILE="$(env_file "$ENV_NAME" "$REGION")"; FILE_REL="${FILE#"$ROOT"/}"
PREFIX="$(env_prefix "$ENV_NAME" "$REGION")"
PINNED_TAG="$(env_field "$ENV_NAME" "$REGION" image_tag)"
if [ "$DRY_RUN" = 1 ]; then
  check_region "$ENV_NAME" "$REGION"
  ACCOUNT="<account-id>"
else
  preflight "$ENV_NAME" "$REGION" docker aws npm node git
fi
TAG="$(image_tag)"
REGISTRY="$ACCOUNT.dkr.ecr.$REGION.amazonaws.com"
TOTAL=4; [ "$PUSH_ONLY" = 1 ] && TOTAL=3
MODE=""; [ "$DRY_RUN" = 1 ] && MODE=" (dry run: nothing is run)"
echo "Story42 rebuild and deploy: $PREFIX, tag $TAG, components: ${ONLY[*]}$MODE"

# Which images are already in ECR at this tag (a re-run of the same commit): those are skipped.
TO_PUSH=()
for c in "${ONLY[@]}"; do
  repo="$PREFIX-$(image_of "$c")"
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ aws ecr describe-images --repository-name %s --image-ids imageTag=%s --region %s  (an image already there is not pushed again)\n' "$repo" "$TAG" "$REGION"
    TO_PUSH+=("$c")
  elif ecr_has_tag "$repo" "$TAG" "$REGION"; then
    echo "  $repo:$TAG is already in ECR"
  else
    TO_PUSH+=("$c")
  fi
done

step 1 $TOTAL "Build the bundles the Dockerfiles copy"
if [ ${#TO_PUSH[@]} -gt 0 ]; then run npm run --silent build:images; else echo "  nothing to build: every image is already pushed with tag $TAG"; fi

step 2 $TOTAL "Log in to ECR ($REGISTRY)"
if [ ${#TO_PUSH[@]} -gt 0 ]; then
  printf '+ aws ecr get-login-password --region %s | docker login --username AWS --password-stdin %s\n' "$REGION" "$REGISTRY"
  if [ "$DRY_RUN" != 1 ]; then aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"; fi
else
  echo "  not needed: nothing to push"
fi

step 3 $TOTAL "Build and push linux/amd64 images"
for c in "${ONLY[@]}"; do
  image="$(image_of "$c")"
  if [[ " ${TO_PUSH[*]-} " == *" $c "* ]]; then
    run docker buildx build --platform linux/amd64 --provenance=false -f "docker/$image/Dockerfile" -t "$REGISTRY/$PREFIX-$image:$TAG" --push "$ROOT"
  else
    echo "  $PREFIX-$image:$TAG already pushed, skipping"
  fi
done

if [ "$PUSH_ONLY" = 1 ]; then echo; echo "Pushed tag $TAG (push only).$MODE"; dry_run_done; exit 0; fi

# One tag names every image terraform deploys: carry the images not rebuilt over to it (a new
# tag on the same manifest, nothing is built or pulled), before anything runs the new tag.
for c in "${OTHERS[@]+"${OTHERS[@]}"}"; do
  repo="$PREFIX-$(image_of "$c")"
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ aws ecr batch-get-image --repository-name %s --image-ids imageTag=%s --region %s | aws ecr put-image --repository-name %s --image-tag %s  (unless %s is there)\n' "$repo" "$PINNED_TAG" "$REGION" "$repo" "$TAG" "$TAG"
  elif ecr_has_tag "$repo" "$TAG" "$REGION"; then
    echo "  $repo:$TAG already pushed, skipping"
  else
    echo "  $repo: tagging the recorded image $PINNED_TAG as $TAG (not rebuilt)"
    image_json="$(aws ecr batch-get-image --repository-name "$repo" --image-ids imageTag="$PINNED_TAG" --region "$REGION" --output json)"
    manifest="$(printf '%s' "$image_json" | node -e 'const i=JSON.parse(require("fs").readFileSync(0,"utf8")).images?.[0]; if(i) process.stdout.write(i.imageManifest)')"
    media="$(printf '%s' "$image_json" | node -e 'const i=JSON.parse(require("fs").readFileSync(0,"utf8")).images?.[0]; if(i) process.stdout.write(i.imageManifestMediaType ?? "")')"
    [ -n "$manifest" ] || die "$repo has no image $PINNED_TAG (the tag $FILE_REL records) to carry over to $TAG; rebuild every component (without --only)"
    media_arg=(); [ -z "$media" ] || media_arg=(--image-manifest-media-type "$media")
    aws ecr put-image --repository-name "$repo" --image-tag "$TAG" --image-manifest "$manifest" "${media_arg[@]+"${media_arg[@]}"}" --region "$REGION" --output json >/dev/null
  fi
done

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

# Terraform reads image_tag (and images_ready) from the environment file: record what now runs,
# so the next terraform apply keeps this code instead of rolling it back to the old tag.
printf '+ set "image_tag": "%s", "images_ready": true in %s\n' "$TAG" "$FILE_REL"
if [ "$DRY_RUN" != 1 ]; then
  set_env_fields "$ENV_NAME" "$REGION" "image_tag=\"$TAG\"" images_ready=true
  if [ "$TAG" = "$PINNED_TAG" ]; then echo "  $FILE_REL already records image_tag $TAG"; else echo "  recorded image_tag $TAG (was $PINNED_TAG) in $FILE_REL: terraform apply keeps it; commit the file"; fi
fi
echo; echo "Deployed tag $TAG to $PREFIX.$MODE"
dry_run_done
