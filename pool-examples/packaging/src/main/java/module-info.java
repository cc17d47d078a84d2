/**
 * A host application as a module: on the module path its Java workers run as modules too. The handler's package is
 * exported, as the worker runtime creates handlers by reflection.
 */
module dev.procpool.packaging {
    requires dev.procpool.core;

    exports dev.procpool.packaging;
}
