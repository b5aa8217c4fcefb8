# Sourced by ingest.sh for --sync: makes a collection mirror a folder. Not a script.
# Reads ingest.sh's files[] and ids[] (the folder's files and their document ids), prefix, metadata,
# wait, timeout and dry_run. The server's ids, revisions, statuses and hashes come from
# GET /document-hashes (one request per MAX_HASH_PAGE_SIZE documents); a file whose SHA-256 equals
# the stored fileHash (or contentHash, for text sent as JSON) is unchanged and not sent again, unless
# its document failed. Then: upload what is new or changed, remove documents with no file, and wait
# for all of it through the same listing, printing progress. Needs bash 4 (associative arrays).

SYNC_POLL_INTERVAL=${SYNC_POLL_INTERVAL:-1}
declare -A server_status=() server_revision=() server_file_hash=() server_content_hash=()

# sha256_of FILE...: one SHA-256 per line, in the order given.
sha256_of() {
  local tool
  if command -v sha256sum >/dev/null; then tool=(sha256sum --)
  elif command -v shasum >/dev/null; then tool=(shasum -a 256 --)
  else die "--sync needs sha256sum or shasum"; fi
  printf '%s\0' "$@" | xargs -0 "${tool[@]}" | sed 's/^\\//' | cut -c1-64 # a leading \ marks an escaped file name
}

# load_server_documents: every document of the collection (with -p, whose id starts with it) into server_*.
load_server_documents() {
  server_status=() server_revision=() server_file_hash=() server_content_hash=()
  local cursor='' page id status revision file_hash content_hash query
  while :; do
    query="${prefix:+&prefix=$(urlencode "$prefix")}${cursor:+&cursor=$(urlencode "$cursor")}"
    page=$(api GET "$COLLECTION_PATH/document-hashes?${query#&}") || return 1
    while IFS=$'\t' read -r id status revision file_hash content_hash; do
      [[ -n $id ]] || continue
      server_status[$id]=$status server_revision[$id]=$revision server_file_hash[$id]=$file_hash server_content_hash[$id]=$content_hash
    done < <(json hashes <<<"$page")
    cursor=$(json get nextCursor <<<"$page")
    [[ -n $cursor ]] || return 0
  done
}

sync_folder() {
  ((BASH_VERSINFO[0] >= 4)) || die "--sync needs bash 4 or later (this is $BASH_VERSION)"
  if [[ -n $prefix && ! $prefix =~ ^[A-Za-z0-9][A-Za-z0-9_.:-]*$ ]]; then die "with --sync, -p must be letters, digits, _ . : - (not first)"; fi
  local -A local_file=()
  local i id
  for i in "${!files[@]}"; do
    id=${ids[$i]}
    [[ -z ${local_file[$id]+set} ]] || die "${local_file[$id]} and ${files[$i]} would both be document $id: rename one"
    local_file[$id]=${files[$i]}
  done
  note "comparing ${#files[@]} files with the collection …"
  hashes=()
  ((${#files[@]} == 0)) || mapfile -t hashes < <(sha256_of "${files[@]}")
  ((${#hashes[@]} == ${#files[@]})) || die "could not hash every file (${#hashes[@]} hashes for ${#files[@]} files)"
  load_server_documents || exit 1

  local -a upload_index=() upload_kind=() removals=()
  local unchanged=0
  for i in "${!files[@]}"; do
    id=${ids[$i]}
    if [[ -z ${server_status[$id]+set} ]]; then upload_index+=("$i") upload_kind+=(added)
    elif [[ ${server_status[$id]} != failed && (${server_file_hash[$id]} == "${hashes[$i]}" || ${server_content_hash[$id]} == "${hashes[$i]}") ]]; then
      unchanged=$((unchanged + 1))
    else upload_index+=("$i") upload_kind+=(changed); fi
  done
  for id in "${!server_status[@]}"; do [[ -n ${local_file[$id]+set} ]] || removals+=("$id"); done
  note "${#upload_index[@]} to upload, $unchanged unchanged, ${#removals[@]} to remove"
  if ((dry_run)); then
    for i in "${!upload_index[@]}"; do printf '%s → %s: would be %s\n' "${files[${upload_index[$i]}]}" "${ids[${upload_index[$i]}]}" "${upload_kind[$i]}"; done
    for id in "${removals[@]}"; do printf '%s: would be removed\n' "$id"; done
    printf 'summary (dry run): %d to add, %d to change, %d unchanged, %d to remove (of %d files)\n' \
      "$(count_of added "${upload_kind[@]}")" "$(count_of changed "${upload_kind[@]}")" "$unchanged" "${#removals[@]}" "${#files[@]}"
    return 0
  fi
  sync_changes "$unchanged"
}

# count_of WORD ITEMS...: how many ITEMS equal WORD.
count_of() {
  local word=$1 n=0 item
  shift
  for item in "$@"; do [[ $item == "$word" ]] && n=$((n + 1)); done
  printf '%d' "$n"
}

# sync_changes UNCHANGED: uploads upload_index[], removes removals[], waits, prints the summary; exit status 1 when anything failed.
sync_changes() {
  local unchanged=$1 failed=0 n total=${#upload_index[@]} response i k id
  local -A expected_revision=() kind_of=() file_of=() removing=()
  for k in "${!upload_index[@]}"; do
    i=${upload_index[$k]} id=${ids[${upload_index[$k]}]} n=$((k + 1))
    local fields=("id=$id")
    [[ -n $metadata ]] && fields+=("metadata=$metadata")
    if response=$(upload "${files[$i]}" "$(basename "${files[$i]}")" "${fields[@]}" 2>"$errors"); then
      expected_revision[$id]=$(json get document.revision <<<"$response") kind_of[$id]=${upload_kind[$k]} file_of[$id]=${files[$i]}
      printf '[%d/%d] %s → %s: %s, uploaded (job %s)\n' "$n" "$total" "${files[$i]}" "$id" "${upload_kind[$k]}" "$(json get job.id <<<"$response")"
    else
      printf '[%d/%d] %s: refused: %s\n' "$n" "$total" "${files[$i]}" "$(sed "s/^$SCRIPT_NAME: upload of [^:]*: //" "$errors")"
      failed=$((failed + 1))
    fi
  done
  for id in "${removals[@]}"; do
    if response=$(api DELETE "$COLLECTION_PATH/documents/$(urlencode "$id")"); then
      removing[$id]=1
      printf '%s: removing (job %s)\n' "$id" "$(json get job.id <<<"$response")"
    else
      failed=$((failed + 1))
    fi
  done
  local added=0 changed=0 removed=${#removing[@]}
  if ((wait == 0)); then
    added=$(count_of added "${kind_of[@]}") changed=$(count_of changed "${kind_of[@]}")
    printf 'summary: %d added, %d changed, %d unchanged, %d removed, %d failed (of %d files); not waiting for indexing\n' \
      "$added" "$changed" "$unchanged" "$removed" "$failed" "${#files[@]}"
    ((failed == 0))
    return
  fi
  wait_for_sync
  for id in "${!expected_revision[@]}"; do
    if [[ ${server_status[$id]:-} == ready ]]; then
      [[ ${kind_of[$id]} == added ]] && added=$((added + 1)) || changed=$((changed + 1))
    else
      printf '%s: failed: %s\n' "${file_of[$id]}" "$(document_error "$id")"
      failed=$((failed + 1))
    fi
  done
  for id in "${!removing[@]}"; do
    if [[ -n ${server_status[$id]+set} ]]; then printf '%s: not removed within %s s\n' "$id" "$timeout"; removed=$((removed - 1)) failed=$((failed + 1)); fi
  done
  printf 'summary: %d added, %d changed, %d unchanged, %d removed, %d failed (of %d files)\n' "$added" "$changed" "$unchanged" "$removed" "$failed" "${#files[@]}"
  ((failed == 0))
}

# wait_for_sync: polls the listing until every upload is ready or failed at its revision and every
# removed document is gone, printing progress when it changes; gives up after `timeout` s without progress.
wait_for_sync() {
  local done_count last=-1 last_progress=$SECONDS id
  while :; do
    load_server_documents || return 1
    done_count=0
    for id in "${!expected_revision[@]}"; do
      if [[ -n ${server_status[$id]+set} ]] && ((${server_revision[$id]} >= ${expected_revision[$id]})) && [[ ${server_status[$id]} == ready || ${server_status[$id]} == failed ]]; then
        done_count=$((done_count + 1))
      fi
    done
    for id in "${!removing[@]}"; do [[ -n ${server_status[$id]+set} ]] || done_count=$((done_count + 1)); done
    if ((done_count != last)); then
      note "… ${done_count} of $((${#expected_revision[@]} + ${#removing[@]})) uploads and removals done"
      last=$done_count last_progress=$SECONDS
    fi
    ((done_count < ${#expected_revision[@]} + ${#removing[@]})) || return 0
    if ((SECONDS - last_progress > timeout)); then note "$SCRIPT_NAME: no progress for $timeout s; giving up waiting"; return 0; fi
    sleep "$SYNC_POLL_INTERVAL"
  done
}

# document_error ID: why a document is not ready (its stored error, or its status).
document_error() {
  local doc
  doc=$(api GET "$COLLECTION_PATH/documents/$(urlencode "$1")" 2>/dev/null) || { printf 'no longer there'; return; }
  local error
  error=$(json get error <<<"$doc")
  printf '%s' "${error:-still $(json get status <<<"$doc")}"
}
