"""kubemu's Kubernetes object model (pure: no ray, grpc or asyncio; objects are plain dicts).

* ``resources``  -- the served kinds (``ResourceInfo``, ``RESOURCES``, ``lookup``, ``for_kind``)
* ``errors``     -- ``APIError`` (a metav1.Status) and ``FieldError`` with upstream's messages
* ``naming``     -- name/label/key syntax checks (``IsDNS1123Subdomain`` & co.)
* ``quantity``   -- ``resource.Quantity``
* ``selectors``  -- label selectors, field selectors, node selector terms
* ``validation`` -- ``validate(obj, old=None, *, subresource="")`` for every kind
* ``defaults``   -- ``apply_defaults(obj)``
* ``patch``      -- JSON merge patch and JSON patch
* ``meta``       -- keys, names, owner references, pod helpers, tolerations
* ``printers``   -- kubectl's tables and describe output
"""
