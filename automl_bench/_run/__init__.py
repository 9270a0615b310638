"""Running a suite: the driver's loop over cells, and the trials it hands to workers.

- `driver`: every cell (task x backend x strategy x seed) as one ask/tell search, to the store;
- `cells`: a cell's search state, its trials' seeds, and the record of a job handed out;
- `options`: what a run is asked to do beyond its suite (`bench run`'s options);
- `preflight`: what is checked once before the first trial;
- `trials`: running a trial in the process that trains it (every executor's common part);
- `workers`: worker slots reused across trials, for the executors that keep workers;
- `handoff`: data splits handed from the driver to workers on the same machine;
- `transfer`: source models pretrained once per transfer task and cached;
- `gpus`: the machine's NVIDIA GPUs, found without importing a framework;
- `environment`: versions, hardware, commit and suite digest, recorded with every result;
- `interrupts`: Ctrl-C, SIGTERM and SIGHUP during a run;
- `progress`: the live display.

It writes through `automl_bench._results`, never the other way round.
"""
