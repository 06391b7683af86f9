package io.ballast.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ballast.api.ApiError;
import io.ballast.api.AttachRequest;
import io.ballast.api.CloneRequest;
import io.ballast.api.ErrorCodes;
import io.ballast.api.HaUpdateRequest;
import io.ballast.api.JoinRequest;
import io.ballast.api.Json;
import io.ballast.api.MountRequest;
import io.ballast.api.ResizeRequest;
import io.ballast.api.RestoreRequest;
import io.ballast.api.SnapshotRequest;
import io.ballast.api.VolumeSpec;
import io.ballast.api.VolumeView;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API ({@code /v1/...}, {@code /healthz}, {@code /metrics}): JSON in and out, every
 * error as {@code {"error": {"code", "message"}}} with the status its code calls for.
 */
final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

    private final ObjectMapper json = Json.mapper();
    private final Javalin app;

    ApiServer(String address, int port, VolumeService volumes, HostMounts host, ClusterService cluster,
              NodeMetrics metrics) {
        app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jetty.host = address;
            config.jetty.port = port;
            config.concurrency.useVirtualThreads = true;
            var r = config.routes;
            r.get("/healthz", ctx -> respond(ctx, 200, cluster.health()));
            r.get("/metrics", ctx -> ctx.contentType(NodeMetrics.contentType()).result(metrics.scrape()));

            r.get("/v1/cluster", ctx -> respond(ctx, 200, cluster.cluster()));
            r.post("/v1/cluster/join", ctx -> respond(ctx, 200, cluster.join(body(ctx, JoinRequest.class))));
            r.delete("/v1/nodes/{name}", ctx -> {
                cluster.remove(ctx.pathParam("name"));
                ctx.status(HttpStatus.NO_CONTENT);
            });
            r.get("/v1/nodes", ctx -> respond(ctx, 200, cluster.nodes()));
            r.get("/v1/nodes/{name}", ctx -> respond(ctx, 200, cluster.node(ctx.pathParam("name"))));
            r.get("/v1/pools", ctx -> respond(ctx, 200, cluster.pools()));

            r.post("/v1/volumes", ctx -> respond(ctx, 201, volumes.create(body(ctx, VolumeSpec.class))));
            r.get("/v1/volumes", ctx -> respond(ctx, 200, volumes.list()));
            r.get("/v1/volumes/{name}", ctx -> respond(ctx, 200, volumes.inspect(ctx.pathParam("name"))));
            r.delete("/v1/volumes/{name}", ctx -> {
                volumes.delete(ctx.pathParam("name"));
                ctx.status(HttpStatus.NO_CONTENT);
            });
            r.post("/v1/volumes/{name}/attach", ctx -> {
                String name = ctx.pathParam("name");
                AttachRequest request = optionalBody(ctx, AttachRequest.class, () -> new AttachRequest(null, null));
                VolumeView attached = volumes.attach(name, request.node());
                if (request.wantsBlock()) {
                    host.attachBlock(name);
                    attached = volumes.inspect(name);
                }
                respond(ctx, 200, attached);
            });
            r.post("/v1/volumes/{name}/mount", ctx -> respond(ctx, 200, host.mount(ctx.pathParam("name"),
                    Path.of(required(body(ctx, MountRequest.class).path(), "path")))));
            r.post("/v1/unmount", ctx -> respond(ctx, 200,
                    host.unmount(Path.of(required(body(ctx, MountRequest.class).path(), "path")))));
            r.post("/v1/volumes/{name}/ha-update", ctx -> {
                HaUpdateRequest request = body(ctx, HaUpdateRequest.class);
                respond(ctx, 200, volumes.haUpdate(ctx.pathParam("name"), required(request.repl(), "repl")));
            });
            r.post("/v1/volumes/{name}/verify", ctx -> respond(ctx, 200, volumes.verify(ctx.pathParam("name"))));
            r.post("/v1/volumes/{name}/detach", ctx -> respond(ctx, 200, volumes.detach(ctx.pathParam("name"))));
            r.post("/v1/volumes/{name}/resize", ctx -> {
                ResizeRequest request = body(ctx, ResizeRequest.class);
                long bytes = valid(request::resolve);
                respond(ctx, 200, volumes.resize(ctx.pathParam("name"), bytes));
            });
            r.post("/v1/volumes/{name}/clone", ctx -> {
                CloneRequest request = body(ctx, CloneRequest.class);
                respond(ctx, 201, volumes.clone(ctx.pathParam("name"), request.snapshot(), request.name()));
            });
            r.post("/v1/volumes/{name}/restore", ctx -> {
                RestoreRequest request = body(ctx, RestoreRequest.class);
                respond(ctx, 200, volumes.restore(ctx.pathParam("name"), required(request.snapshot(), "snapshot")));
            });
            r.post("/v1/volumes/{name}/snapshots", ctx -> {
                SnapshotRequest request = body(ctx, SnapshotRequest.class);
                respond(ctx, 201, volumes.createSnapshot(ctx.pathParam("name"), required(request.name(), "name")));
            });
            r.get("/v1/volumes/{name}/snapshots", ctx -> respond(ctx, 200, volumes.snapshots(ctx.pathParam("name"))));
            r.delete("/v1/volumes/{name}/snapshots/{snapshot}", ctx -> {
                volumes.deleteSnapshot(ctx.pathParam("name"), ctx.pathParam("snapshot"));
                ctx.status(HttpStatus.NO_CONTENT);
            });
            r.get("/v1/snapshots", ctx -> respond(ctx, 200, volumes.snapshots(null)));

            r.exception(ApiException.class, (e, ctx) -> error(ctx, e.code(), e.getMessage()));
            r.exception(Exception.class, (e, ctx) -> {
                log.error("{} {} failed", ctx.method(), ctx.path(), e);
                error(ctx, ErrorCodes.INTERNAL, "internal error: " + e + "; see the node log");
            });
            r.error(404, ctx -> {
                // Our own 404s are JSON already; anything else is Javalin's "no such route".
                if (!"application/json".equals(ctx.res().getContentType())) {
                    error(ctx, ErrorCodes.NOT_FOUND, "no such endpoint: " + ctx.method() + " " + ctx.path());
                }
            });
            r.error(405, ctx -> error(ctx, ErrorCodes.INVALID, "method " + ctx.method() + " is not allowed on " + ctx.path()));
        });
        app.start();
    }

    int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    private void respond(Context ctx, int status, Object body) throws JsonProcessingException {
        ctx.status(status).contentType("application/json").result(json.writeValueAsString(body));
    }

    private void error(Context ctx, String code, String message) {
        try {
            respond(ctx, ErrorCodes.httpStatus(code), ApiError.of(code, message));
        } catch (JsonProcessingException e) {
            ctx.status(500).result(message);
        }
    }

    private <T> T body(Context ctx, Class<T> type) {
        String text = ctx.body();
        if (text.isBlank()) {
            throw ApiException.invalid("the request needs a JSON body (" + type.getSimpleName() + ")");
        }
        try {
            T value = json.readValue(text, type);
            if (value == null) {
                throw ApiException.invalid("the request body is null; send a JSON object");
            }
            return value;
        } catch (JsonProcessingException e) {
            throw ApiException.invalid("the request body is not valid " + type.getSimpleName() + " JSON: "
                    + e.getOriginalMessage());
        }
    }

    private <T> T optionalBody(Context ctx, Class<T> type, Supplier<T> absent) {
        return ctx.body().isBlank() ? absent.get() : body(ctx, type);
    }

    private static <T> T valid(Supplier<T> check) {
        try {
            return check.get();
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage());
        }
    }

    private static int required(Integer value, String field) {
        if (value == null) {
            throw ApiException.invalid("the request body needs \"" + field + "\"");
        }
        return value;
    }

    private static String required(String value, String field) {
        if (value == null || value.isBlank()) {
            throw ApiException.invalid("the request body needs \"" + field + "\"");
        }
        return value;
    }

}
