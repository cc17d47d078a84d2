package dev.procpool.examples.boot;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * A Spring Boot application with a procpool pool as a bean: tasks over HTTP ({@link TaskController}), the pool's
 * meters on {@code /actuator/prometheus}, its health on {@code /actuator/health}, its settings from
 * {@code application.yml} ({@link ProcPoolProperties}), and SIGTERM draining the running tasks (Boot's graceful
 * shutdown, then the pool's {@code close()} as its bean is destroyed).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class PoolApplication {
    public static void main(String[] args) {
        SpringApplication.run(PoolApplication.class, args);
    }
}
