
R-2025-000001node.liaocheng.example�ۧ��2�(
聊城市市场监督管理局A �