/**
 * An answer's streamed text as `delta` events. The pieces given in one turn of the event loop go
 * out as one event: an extractive answer's pieces come all at once, a model's tokens each with its
 * own network read, so a burst costs one publish (and one SSE write per client), not one per piece.
 * flush() sends what is pending at once; the answer calls it before its message is stored, so every
 * delta precedes the message on the channel and the deltas still join to the stored content.
 */
export interface AnswerDeltas {
  push(text: string): void;
  flush(): void;
}

export function answerDeltas(publish: (index: number, text: string) => void): AnswerDeltas {
  let pending = '';
  let index = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    publish(index++, text);
  };
  return {
    push(text) {
      if (text === '') return;
      pending += text;
      scheduled ??= setImmediate(flush);
    },
    flush,
  };
}
