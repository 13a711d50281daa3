DROP TABLE leases;
DROP TABLE delivery_cursors;
DROP TABLE events;
