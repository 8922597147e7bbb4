"""mediana: precomputed conversation and CRM reports for a multi-tenant inbox.

The runtime package shipped in the shared Lambda layer. Modules are split so that
the read path (API) never imports pandas: only ``contrib`` and ``aggregate`` do.
"""
