"""Measuring latency: the timing protocol, the worker, sweeps, executors, exports.

The public call is :func:`eagle.measure` (:func:`eagle.api.measure`); this package is what it
runs. (It was ``eagle.measure`` until issue 34: a package and a function of one name, so the
package had to make itself callable.)
"""
