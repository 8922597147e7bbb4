"""Metering: request units from item sizes, the per-tenant meter, the price table and
finance's monthly rows."""
