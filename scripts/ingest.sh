#!/usr/bin/env bash
# Uploads files to colmeia (POST /documents, multipart): one file, several, or every .txt, .md,
# .html and .pdf under a folder. Shows each document's progress (uploaded, then ready or failed)
# and a summary. Document ids come from the file paths, so ingesting a folder again replaces its
# documents instead of adding copies. --sync DIR makes the collection mirror the folder (lib/sync.sh).
set -euo pipefail
SCRIPT_NAME=ingest.sh

usage() {
  cat <<'EOF'
Usage: scripts/ingest.sh [options] PATH...
       scripts/ingest.sh --sync [options] DIR

Uploads each PATH (a file, or a folder: every .txt, .md, .markdown, .html, .htm and .pdf under it)
as a document, then waits until each is indexed. The server extracts the text (HTML and PDF too)
and records metadata.source = {fileName, contentType, bytes, pages?}.

Document ids: the file's path below the folder given ("guide/intro.md" → "guide:intro.md"), or
the file name for a file given directly; other characters than letters, digits, _ . : - become -.

With --sync DIR the collection mirrors the folder: new files are added, changed ones replaced,
files whose SHA-256 the server already has are skipped without being sent, and every document of
the collection (with -p P: every document whose id starts with P) that has no file in DIR is
removed. It waits for all of it, shows progress, and prints how many were added, changed,
unchanged, removed and failed. A document that failed is sent again.

Options:
  -c, --collection C   upload into collection C (default: the default collection)
  -m, --metadata JSON  metadata of every document, a JSON object, e.g. '{"lang":"en"}'
  -p, --id-prefix P    put P before every derived id, e.g. "handbook:"
      --id ID          the document id (one file only)
  -t, --title TITLE    the title (one file only; default: the file name without extension)
      --sync           mirror the folder DIR (see above); needs bash 4
      --dry-run        with --sync: only say what would be added, changed and removed
      --no-wait        do not wait for indexing
      --timeout S      wait at most S seconds per document (default 300; with --sync: S seconds without progress)
  -h, --help           show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)
  RETRY_MAX, RETRY_MAX_WAIT  attempts (8) of a request answered 429 or 503, and the longest wait
            before one retry (120 s); the wait is the answer's Retry-After, else 1, 2, 4 … s

Exit status: 0 every document is ready (or uploaded, with --no-wait); 1 any failed or was refused.
EOF
}

metadata='' prefix='' id='' title='' wait=1 timeout=300 paths=() sync=0 dry_run=0
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/sync.sh"

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -c|--collection) need_value $# "$1"; use_collection "$2"; shift 2 ;;
    -m|--metadata) need_value $# "$1"; metadata=$2; shift 2 ;;
    -p|--id-prefix) need_value $# "$1"; prefix=$2; shift 2 ;;
    --id) need_value $# "$1"; id=$2; shift 2 ;;
    -t|--title) need_value $# "$1"; title=$2; shift 2 ;;
    --sync) sync=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    --no-wait) wait=0; shift ;;
    --timeout) need_value $# "$1"; [[ $2 =~ ^[0-9]+$ ]] || die "--timeout must be seconds"; timeout=$2; shift 2 ;;
    --) shift; paths+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) paths+=("$1"); shift ;;
  esac
done
((${#paths[@]} > 0)) || { usage >&2; exit 1; }
if ((sync)); then
  ((${#paths[@]} == 1)) && [[ -d ${paths[0]} ]] || die "--sync needs exactly one folder"
  [[ -z $id && -z $title ]] || die "--id and --title cannot be used with --sync"
elif ((dry_run)); then
  die "--dry-run goes with --sync"
fi
require_tools
if [[ -n $metadata ]] && ! json valid <<<"$metadata"; then die "--metadata must be a JSON object, e.g. '{\"lang\":\"en\"}'"; fi

# document_id RELATIVE_PATH: an id the API accepts (^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$).
document_id() {
  local raw=$prefix${1//\//:} clean
  clean=$(LC_ALL=C sed 's/[^A-Za-z0-9_.:-]\{1,\}/-/g' <<<"$raw")
  [[ $clean =~ ^[A-Za-z0-9] ]] || clean="d$clean"
  if ((${#clean} > 128)); then clean="${clean:0:117}-$(cksum <<<"$raw" | cut -d' ' -f1)"; fi
  printf '%s' "$clean"
}

files=() ids=()
for path in "${paths[@]}"; do
  if [[ -d $path ]]; then
    dir=${path%/}
    while IFS= read -r -d '' file; do
      files+=("$file"); ids+=("$(document_id "${file#"$dir"/}")")
    done < <(find "$dir" -type f \( -iname '*.txt' -o -iname '*.md' -o -iname '*.markdown' -o -iname '*.html' -o -iname '*.htm' -o -iname '*.pdf' \) -print0 | sort -z)
  elif [[ -f $path ]]; then
    files+=("$path"); ids+=("$(document_id "$(basename "$path")")")
  else
    die "$path: no such file or folder"
  fi
done
total=${#files[@]}
((total > 0 || sync)) || die "no .txt, .md, .html or .pdf files in ${paths[*]}"
if [[ -n $id || -n $title ]] && ((total > 1)); then die "--id and --title need exactly one file (got $total)"; fi
[[ -n $id ]] && ids[0]=$id

# --- upload each, then wait for each ----------------------------------------------------------------
accepted_jobs=() names=() refused=0 ready=0 failed=0
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ((sync)); then
  status=0; sync_folder || status=$?
  exit "$status"
fi
for i in "${!files[@]}"; do
  file=${files[$i]} n=$((i + 1))
  fields=("id=${ids[$i]}")
  [[ -n $metadata ]] && fields+=("metadata=$metadata")
  [[ -n $title ]] && fields+=("title=$title")
  if response=$(upload "$file" "$(basename "$file")" "${fields[@]}" 2>"$errors"); then
    job=$(json get job.id <<<"$response")
    printf '[%d/%d] %s → %s: uploaded (job %s)\n' "$n" "$total" "$file" "$(json get document.id <<<"$response")" "$job"
    accepted_jobs+=("$job"); names+=("$file")
  else
    printf '[%d/%d] %s: refused: %s\n' "$n" "$total" "$file" "$(sed "s/^$SCRIPT_NAME: upload of [^:]*: //" "$errors")"
    refused=$((refused + 1))
  fi
done

if ((wait)); then
  for i in "${!accepted_jobs[@]}"; do
    status=0; job=$(wait_job ingest "${accepted_jobs[$i]}" "$timeout") || status=$?
    if ((status == 0)); then
      printf '%s: ready (%s)\n' "${names[$i]}" "$(plural "$(json get result.chunks <<<"$job")" chunk)"
      ready=$((ready + 1))
    else
      printf '%s: failed: %s\n' "${names[$i]}" "$( ((status == 2)) && json get error.message <<<"$job" || echo 'no outcome (see above)')"
      failed=$((failed + 1))
    fi
  done
  printf 'summary: %d ready, %d failed, %d refused (of %d)\n' "$ready" "$failed" "$refused" "$total"
else
  printf 'summary: %d uploaded, %d refused (of %d); not waiting for indexing\n' "${#accepted_jobs[@]}" "$refused" "$total"
fi
((refused == 0 && failed == 0))
