package dev.procpool.core.internal.balance;

import dev.procpool.LoadBalancer;

/** Setting up the user's load balancers for one pool. */
public final class Balancing {
    private Balancing() {
    }

    /**
     * This pool's instance of a balancer. {@link LoadBalancer#forPool} is the user's code: if it fails or returns
     * nothing, the pool cannot start, and the message says which balancer and why.
     */
    public static LoadBalancer forPool(LoadBalancer balancer, String poolName) {
        LoadBalancer instance;
        try {
            instance = balancer.forPool(poolName);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("load balancer " + balancer + " failed to make its instance for pool \""
                    + poolName + "\": " + e, e);
        }
        if (instance == null) {
            throw new IllegalArgumentException("load balancer " + balancer + " returned null from forPool(\""
                    + poolName + "\"); return this, or a new instance for the pool");
        }
        return instance;
    }
}
