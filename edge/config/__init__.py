"""Device configuration: strict models mirroring the YAML tree, one module per section."""

from edge.config.agent import AgentConfig
from edge.config.classroom import AssetConfig, ClassroomConfig
from edge.config.gate import GateConfig, RelayConfig
from edge.config.load import ConfigError, load_config
from edge.config.mqtt import MqttConfig
from edge.config.outbox import OutboxConfig

__all__ = [
    "AgentConfig",
    "AssetConfig",
    "ClassroomConfig",
    "ConfigError",
    "GateConfig",
    "MqttConfig",
    "OutboxConfig",
    "RelayConfig",
    "load_config",
]
