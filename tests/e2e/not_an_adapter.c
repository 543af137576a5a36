/* A real shared object that is not a crmhost adapter: it exports no crmh_adapter_entry.
 * `crmhost plugin check` must refuse it. */
__attribute__((visibility("default"))) int crmhost_e2e_not_an_adapter(void) { return 42; }
