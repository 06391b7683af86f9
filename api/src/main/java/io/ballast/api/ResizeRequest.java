package io.ballast.api;

/** {@code POST /v1/volumes/{name}/resize}: grow to {@code sizeBytes}, or to the spelled {@code size}. */
public record ResizeRequest(Long sizeBytes, String size) {

    public long resolve() {
        if (sizeBytes != null) {
            Sizes.checkVolumeSize(sizeBytes, Long.toString(sizeBytes));
            return sizeBytes;
        }
        return Sizes.parseVolumeSize(size);
    }
}
