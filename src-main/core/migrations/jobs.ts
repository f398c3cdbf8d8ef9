import type { Migration } from './migration';

// The jobs room's migrations: versions 0400–449 (written as numbers, e.g. 400, 401; 450–499 are compare's).
//
// 400 job-queue   the persisted queue on top of history's jobs/generations tables:
//                 jobs.owner        'queue' (run by the folder's lock holder: the app or `serve`) or 'cli'
//                                   (a standalone `sd35-studio generate`, run by that process only);
//                                   NULL for imports. owner_pid: the process that submitted the job.
//                 jobs.position     queue order (submit order; moveToFront puts a job before the others)
//                 jobs.sweep        the sweep of the submit (JSON, src-shared/generation.ts sweepSchema)
//                 jobs.cancel_requested  set by any process; the runner stops the job at the next step
//                 jobs.cleared_at   "clear finished" hides a job from the queue list (its images stay)
//                 generations.axis_value  the second axis's value (JSON number or string)
//                 generations.t5, step, total  the generation's T5 choice and its live progress
//                 step_times        measured ms per denoising step per (model, width, height): the ETA
//                 Jobs the CLI ran before this migration are marked 'cli'.
// 401 prompt-once  a generate job's prompt lives once, in jobs.params; its generations hold '' (= the job's) until
//                 they start running, when they take their own copy (the gallery and search read it). Data step:
//                 generations of generate jobs with no image that are not running and repeat their job's prompt
//                 and negative prompt are emptied (150 scripted submits once stored a prompt 9,600 times).
export const jobsMigrations: Migration[] = [
  {
    version: 400,
    name: 'job-queue',
    up(db) {
      db.exec(`
        ALTER TABLE jobs ADD COLUMN owner TEXT CHECK (owner IS NULL OR owner IN ('queue', 'cli'));
        ALTER TABLE jobs ADD COLUMN owner_pid INTEGER;
        ALTER TABLE jobs ADD COLUMN position INTEGER;
        ALTER TABLE jobs ADD COLUMN sweep TEXT CHECK (sweep IS NULL OR json_valid(sweep));
        ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1));
        ALTER TABLE jobs ADD COLUMN cleared_at INTEGER;
        UPDATE jobs SET owner = 'cli', position = id WHERE kind = 'generate';

        ALTER TABLE generations ADD COLUMN axis_value TEXT CHECK (axis_value IS NULL OR json_valid(axis_value));
        ALTER TABLE generations ADD COLUMN t5 INTEGER CHECK (t5 IS NULL OR t5 IN (0, 1));
        ALTER TABLE generations ADD COLUMN step INTEGER CHECK (step IS NULL OR step >= 0);
        ALTER TABLE generations ADD COLUMN total INTEGER CHECK (total IS NULL OR total >= 1);

        -- The queue list (newest first, keyset on id) and its counts per status.
        CREATE INDEX jobs_visible ON jobs (status, id) WHERE kind = 'generate' AND cleared_at IS NULL;
        -- What runs next: jobs with work left, in queue order.
        CREATE INDEX jobs_queue ON jobs (owner, position, id) WHERE status IN ('queued', 'running');

        CREATE TABLE step_times (
          model TEXT NOT NULL,
          width INTEGER NOT NULL,
          height INTEGER NOT NULL,
          ms_per_step REAL NOT NULL CHECK (ms_per_step >= 0),
          samples INTEGER NOT NULL CHECK (samples >= 1),
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (model, width, height)
        ) STRICT;
      `);
    },
  },
  {
    version: 401,
    name: 'prompt-once',
    up(db) {
      db.exec(`
        UPDATE generations SET prompt = '', negative_prompt = ''
        WHERE status IN ('queued', 'cancelled', 'failed', 'interrupted')
          AND NOT EXISTS (SELECT 1 FROM images i WHERE i.id = generations.id)
          AND EXISTS (
            SELECT 1 FROM jobs j
            WHERE j.id = generations.job_id AND j.kind = 'generate' AND json_valid(j.params)
              AND json_type(j.params, '$.prompt') = 'text' AND json_extract(j.params, '$.prompt') = generations.prompt
              AND coalesce(json_extract(j.params, '$.negativePrompt'), '') = generations.negative_prompt
          );
      `);
    },
  },
];
