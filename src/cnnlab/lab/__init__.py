"""`cnnlab lab`: a local web app where every trained run answers a drawing live.

| module | what |
|---|---|
| `runs` | the registry of run directories: ids, loaded engines, broken runs, reloads, size bounds |
| `inference` | a picture -> the 28x28 input, predictions, CAM overlays; the warm-up answer |
| `activations` | inside one network: every layer's output, the first filters, receptive fields |
| `testset` | the test set's confusion grid, its cells' images, and curves |
| `bodylimit` | the bound on request bodies, refused with 413 in a way every client receives |
| `http_errors` | every error as `{"error": sentence}` with its status |
| `app` | the FastAPI app: the JSON API under /api/ and the page from `static/` |
| `bench` | p50/p95 latency of /api/predict |
"""
