// Package testkit is test support shared by the packages of this module: the Autobahn
// test vectors (one copy, checked against a recorded checksum) and the independent peers
// the interop tests run (Autobahn|Python, AutobahnJS), found once for every package: a
// test that needs a missing peer is skipped, or fails when CI=true. Its own tests hold
// the module to the import rules of docs/architecture.md (architecture_test.go).
//
// Only _test.go files import it, and it imports nothing of ours, so a package's tests can
// use it without reaching anything that package's own rule forbids (internal/router's
// tests stay free of every key package).
package testkit
