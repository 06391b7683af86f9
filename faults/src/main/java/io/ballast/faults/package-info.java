/**
 * The fault campaign ({@code bench/faults}): K real daemons, each in its own network namespace, a workload
 * of self-describing blocks written over NBD with every acknowledgement recorded, a seeded nemesis (kills,
 * pauses, partitions, slow links, full pools, coordinator deaths mid-flush, re-attaches), and a checker
 * that fails loudly on a lost flushed write, diverged replicas, or two coordinators acknowledging at once.
 */
package io.ballast.faults;
