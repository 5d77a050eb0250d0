// Package report turns a saved run folder into REPORT.md, a terminal
// summary table, a comparison of two runs and CSV exports.
package report
