"""Several instances of every process side by side on one machine (``make run-cluster``)."""
