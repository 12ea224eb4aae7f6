"""`cnnlab lab`: a local web app where every trained run answers a drawing or a picture live.

| module | what |
|---|---|
| `runs` | the registry of run directories: ids, loaded engines, broken runs, reloads, size bounds |
| `rundata` | each run's data set: class names, image shape, normalisation, picture preparation |
| `inference` | a picture -> the input the runs see, predictions, maps; the warm-up answer |
| `attribution` | the map of the chosen method (`cnnlab.explain`), or the run's default |
| `activations` | inside one network: every layer's output, the first filters, receptive fields |
| `testset` | each data set's test set: confusion grid, its cells' images; and curves |
| `bodylimit` | the bound on request bodies, refused with 413 in a way every client receives |
| `http_errors` | every error as `{"error": sentence}` with its status |
| `app` | the FastAPI app: the JSON API under /api/ and the page from `static/` |
| `bench` | p50/p95 latency of /api/predict |
"""
