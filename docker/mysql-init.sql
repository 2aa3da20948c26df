-- Run once by the mysql:8 image on an empty data directory (docker-compose only; the local stack does the same in stack/components.ts).
CREATE DATABASE IF NOT EXISTS orderly CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'orderly'@'%' IDENTIFIED BY 'orderly';
GRANT ALL PRIVILEGES ON orderly.* TO 'orderly'@'%';
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY 'debezium';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';
