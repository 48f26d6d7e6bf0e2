// Preloaded into chapter programs (LD_PRELOAD) to list the files they open for reading; see
// openlog.c. Nothing here is called from Swift.
