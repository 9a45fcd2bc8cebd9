"""The wire: pydantic models of the MQTT contract, topics and schema export.

The only place JSON and base64 exist. Doors (``transport.adapter``, integrations, Wyoming) convert
between these models and the pipeline's plain items.
"""
