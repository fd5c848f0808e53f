"""The crawl cluster: many crawler processes (on many machines) share one frontier in Redis.

- ``frontier``: scrapy-redis's scheduler with leases, so a request taken by a worker that dies is
  put back; the dupe filter uses the crawler's own fingerprints.
- ``politeness``: one request per configured delay per host, across every worker.
- ``results``: workers analyse photos and send the results to a Redis stream.
- ``writer``: the one process that stores them (``headcheck crawl-writer``).
- ``worker``, ``command``: how ``headcheck crawl --redis`` runs, and the cluster's commands.

Redis must be private to the cluster: requests and results travel pickled (as in scrapy-redis).
"""
