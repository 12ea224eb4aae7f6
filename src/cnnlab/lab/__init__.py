"""`cnnlab lab`: a local web app where every trained run answers a drawing live.

| module | what |
|---|---|
| `runs` | the registry of run directories: ids, loaded engines, broken runs, reloads |
| `inference` | a picture -> the 28x28 input, predictions, CAM overlays, activations |
| `testset` | the test set's confusion grid, its cells' images, and curves |
| `app` | the FastAPI app: the JSON API under /api/ and the page from `static/` |
| `bench` | p50/p95 latency of /api/predict |
"""
