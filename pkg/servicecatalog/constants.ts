/** Names both processes (and clients) agree on: finalizer and annotations of the servicecatalog kinds. */

/** The finalizer the controller owns on brokers, instances and bindings. */
export const FINALIZER = 'kubernetes-incubator/service-catalog';

/** On an instance or binding being deleted: let it go without calling the broker. */
export const ABANDON_ANNOTATION = 'servicecatalog.k8s.io/abandon';

/** On an instance being deleted: delete its bindings first (when cascading deletion is on). */
export const CASCADING_DELETION_ANNOTATION = 'servicecatalog.k8s.io/cascading-deletion';
