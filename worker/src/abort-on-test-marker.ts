/**
 * Test-only crash switch for the poison-job test: a document whose ingest kills its
 * worker the way a native crash or an OOM kill would, so the attempt counter can be tested on real
 * processes. Inert unless COLMEIA_TEST_ABORT_MARKER is set (config refuses it in production); then an
 * ingest (or ingest-batch) whose text contains the marker calls process.abort() after its attempt was counted.
 */
export function abortOnTestMarker(marker: string | undefined, text: string): void {
  if (marker !== undefined && text.includes(marker)) process.abort();
}
