package lakehouse.hadoop;

import org.apache.hadoop.fs.LocalFileSystem;

/** `fs.file.impl`: Hadoop's LocalFileSystem (checksummed) over {@link NioLocalFileSystem}. */
public class NioChecksumFileSystem extends LocalFileSystem {
  public NioChecksumFileSystem() {
    super(new NioLocalFileSystem());
  }
}
