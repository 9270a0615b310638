"""A trial's model, whatever framework trains it: its configuration and what is checked, decided
and measured about it the same way on every backend.

- `config`: the backend-neutral model configuration and its knobs;
- `checks`: what a configuration is checked against before training (its data, its layers);
- `training`: early stopping and reduce-on-plateau, decided in one place;
- `calibration`: the small workload every backend trains alike, so seconds compare across machines;
- `published`: the published pretrained models a transfer task may start from;
- `objectives`: every number a trial reports, with the direction a search wants it;
- `cost`: what a trained model costs (parameters, latency, memory, energy), measured where it trained.
"""
